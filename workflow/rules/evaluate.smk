# Evaluation: classical baselines (fit on training, tuned on validation spectra), predictions of
# every method on the test shards, per-spectrum errors and error bins (docs/evaluation.md).
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


rule baseline_fit_pca:
    input:
        shards=shard_paths("train"),
        code=BASELINE_CODE,
    output:
        "results/baselines/pca/basis.npz",
    log:
        "results/logs/evaluate/baseline_fit_pca.log",
    benchmark:
        "results/benchmarks/evaluate/baseline_fit_pca.tsv"
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        max_components=EVAL["pca"]["max_components"],
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/baseline_fit_pca.py"


rule baseline_tune:
    input:
        unpack(
            lambda w: (
                {"basis": "results/baselines/pca/basis.npz"}
                if w.baseline == "pca"
                else {}
            )
        ),
        shards=shard_paths("val"),
        code=TUNE_CODE,
    output:
        "results/baselines/{baseline}/params.json",
    log:
        "results/logs/evaluate/baseline_tune/{baseline}.log",
    benchmark:
        "results/benchmarks/evaluate/baseline_tune/{baseline}.tsv"
    wildcard_constraints:
        baseline=name_regex(TUNED_BASELINES),
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        grid=lambda w: EVAL[w.baseline]["grid"],
        fixed=lambda w: EVAL[w.baseline].get("fixed", {}),
        tune=EVAL["tune"],
        min_truth=EVAL["metrics"]["min_truth"],
        seed=lambda w: derive_seed(config["seed"], "tune", w.baseline),
    script:
        "../scripts/baseline_tune.py"


rule denoise_baseline:
    input:
        unpack(baseline_inputs),
        shard="results/shards/test/{chunk}.parquet",
        code=DENOISE_CODE,
    output:
        "results/predictions/{baseline}/{chunk}.parquet",
    log:
        "results/logs/evaluate/denoise/{baseline}/{chunk}.log",
    benchmark:
        "results/benchmarks/evaluate/denoise/{baseline}/{chunk}.tsv"
    wildcard_constraints:
        baseline=name_regex(BASELINES),
        chunk=name_regex(list(CHUNKS)),
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/denoise_baseline.py"


rule denoise_model:
    input:
        shard="results/shards/test/{chunk}.parquet",
        model="results/models/{model}/model.pt",
        code=src("evaluate/predict.py", "learn/*.py", "shards.py"),
    output:
        "results/predictions/{model}/{chunk}.parquet",
    log:
        "results/logs/evaluate/denoise/{model}/{chunk}.log",
    benchmark:
        "results/benchmarks/evaluate/denoise/{model}/{chunk}.tsv"
    wildcard_constraints:
        model=name_regex(MODEL_NAMES),
        chunk=name_regex(list(CHUNKS)),
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=EVAL["model_gpus"],
    params:
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/denoise_model.py"


rule errors:
    input:
        test=shard_paths("test"),
        pred=lambda w: prediction_paths(w.method),
        code=ERRORS_CODE,
    output:
        "results/errors/{method}.parquet",
    log:
        "results/logs/evaluate/errors/{method}.log",
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        metrics=EVAL["metrics"],
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/errors_method.py"


rule errbins:
    input:
        errors="results/errors/{method}.parquet",
        code=src("evaluate/binning.py", "shards.py"),
    output:
        "results/errbins/{method}/{param}.parquet",
    log:
        "results/logs/evaluate/errbins/{method}/{param}.log",
    benchmark:
        "results/benchmarks/evaluate/errbins/{method}/{param}.tsv"
    wildcard_constraints:
        method=name_regex(METHODS),
        param=name_regex(BIN_PARAMS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        bins=lambda w: EVAL["bins"][w.param],
        metrics=EVAL["bin_metrics"],
        bootstrap=EVAL["bootstrap"],
        seed=lambda w: derive_seed(config["seed"], "errbins", w.method, w.param),
    script:
        "../scripts/errbins_param.py"


localrules:
    errbins,


ALL_TARGETS.extend(
    expand("results/errbins/{method}/{param}.parquet", method=METHODS, param=BIN_PARAMS)
)
