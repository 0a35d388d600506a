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


def name_regex(names):
    """Wildcard constraint matching exactly one of `names` (nothing at all when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def prediction_paths(method):
    return expand(PREDICTION, method=method, chunk=list(CHUNKS))


def baseline_inputs(wildcards):
    """Tuned parameters (and the PCA basis) a baseline's denoise job needs."""
    files = {}
    if wildcards.baseline in TUNED_BASELINES:
        files["params"] = BASELINE_PARAMS.format(baseline=wildcards.baseline)
    if wildcards.baseline == "pca":
        files["basis"] = PCA_BASIS
    return files


def errbin_paths(methods, params):
    return {m: {p: ERRBINS.format(method=m, param=p) for p in params} for m in methods}
