# Variables and helpers of the evaluate and figures rules (kept apart from the rules, as
# `snakemake --lint` asks). Included by evaluate.smk.
import re

EVAL = config["evaluate"]
BASELINES = list(EVAL["baselines"])
TUNED_BASELINES = [b for b in BASELINES if b != "identity"]
try:
    MODEL_NAMES
except (
    NameError
):  # train.smk not included (or still being written): evaluate baselines only
    MODEL_NAMES = []
if set(MODEL_NAMES) & (set(BASELINES) | {"all"}):
    raise ValueError(
        f"model names {sorted(set(MODEL_NAMES) & (set(BASELINES) | {'all'}))} clash with "
        "baseline names or 'all'; rename the model in config `train`"
    )
METHODS = [*MODEL_NAMES, *BASELINES]
BIN_PARAMS = list(EVAL["bins"])
# Library files per rule (an edit reruns exactly the rules that import them).
BASELINE_CODE = src("evaluate/baselines/*.py", "shards.py")
TUNE_CODE = [*BASELINE_CODE, *src("evaluate/tuning.py", "evaluate/metrics.py")]
DENOISE_CODE = [*TUNE_CODE, *src("evaluate/predict.py")]
ERRORS_CODE = src(
    "evaluate/errors.py", "evaluate/metrics.py", "evaluate/alignment.py", "shards.py"
)


def name_regex(names):
    """Wildcard constraint matching exactly one of `names` (nothing at all when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def prediction_paths(method):
    return expand(
        "results/predictions/{method}/{chunk}.parquet",
        method=method,
        chunk=list(CHUNKS),
    )


def baseline_inputs(wildcards):
    """Tuned parameters (and the PCA basis) a baseline's denoise job needs."""
    files = {}
    if wildcards.baseline in TUNED_BASELINES:
        files["params"] = f"results/baselines/{wildcards.baseline}/params.json"
    if wildcards.baseline == "pca":
        files["basis"] = "results/baselines/pca/basis.npz"
    return files


def figure_files(stem):
    return [f"results/figures/{stem}.png", f"results/figures/{stem}.pdf"]


def errbin_paths(methods, params):
    return {m: {p: f"results/errbins/{m}/{p}.parquet" for p in params} for m in methods}
