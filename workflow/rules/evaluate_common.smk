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
# The template-fit oracle (tempfit.smk) is a method too when enabled; a workflow without the
# section (the evaluate test harness) has none.
ORACLES = ["tempfit"] if "tempfit" in config and config["tempfit"]["enabled"] else []
if set(ORACLES) & (set(MODEL_NAMES) | set(BASELINES)):
    raise ValueError(
        "'tempfit' is the template-fit oracle's name; rename the model or baseline"
    )
METHODS = [*MODEL_NAMES, *BASELINES, *ORACLES]
BIN_PARAMS = list(EVAL["bins"])
# Prediction jobs: one per method and test chunk, or one per method over every chunk
# (evaluate.predict_jobs: method), which a run with many chunks plans and schedules far faster.
PER_METHOD = EVAL["predict_jobs"] == "method"
PREDICT_CHUNKS = list(CHUNKS) if PER_METHOD else ["{chunk}"]
PREDICT_JOB = "all" if PER_METHOD else "{chunk}"
# what a prediction job depends on: its test shard, or (per method) the test split's index
TEST_INPUT = split_index("test") if PER_METHOD else SHARD.replace("{split}", "test")
# A per-method job also writes an index of its predictions (their provenance): the jobs that
# read every prediction of a method depend on that one file, as each of them would cost the
# planner a match against the job's hundreds of outputs.
PREDICT_OUTPUTS = {"index": PREDICTION_INDEX} if PER_METHOD else {}


def name_regex(names):
    """Wildcard constraint matching exactly one of `names` (nothing at all when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def prediction_paths(method):
    return expand(PREDICTION, method=method, chunk=list(CHUNKS))


def test_shards_of_job(wildcards):
    """The test shards a prediction job reads: its chunk's, or every chunk's."""
    return expand(
        SHARD, split="test", chunk=PREDICT_CHUNKS if PER_METHOD else [wildcards.chunk]
    )


def predictions_of(method):
    """What a job reading all predictions of ``method`` depends on: the per-method job's index,
    or the per-chunk prediction files."""
    if PER_METHOD:
        return [PREDICTION_INDEX.format(method=method)]
    return prediction_paths(method)


def prediction_inputs(wildcards):
    """:func:`predictions_of` the job's ``{method}``."""
    return predictions_of(wildcards.method)


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
