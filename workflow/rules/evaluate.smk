# Evaluation: classical baselines (fit on training, tuned on validation spectra), predictions of
# every method on the test shards, per-spectrum errors and error bins (docs/evaluation.md).
include: "evaluate_common.smk"


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
        code=src(
            "evaluate/predict.py",
            "learn/*.py",
            "denoise/model.py",
            "spectrum.py",
            "shards.py",
        ),
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
