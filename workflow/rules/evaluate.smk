# Evaluation: classical baselines (fit on training, tuned on validation spectra), predictions of
# every method on the test shards, per-spectrum errors and error bins (docs/evaluation.md).
include: "evaluate_common.smk"


rule baseline_fit_pca:
    input:
        shards=split_index("train"),
    output:
        PCA_BASIS,
    log:
        logs("evaluate/baseline_fit_pca.log"),
    benchmark:
        benchmarks("evaluate/baseline_fit_pca.tsv")
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        code=script_code("baseline_fit_pca.py"),
        shards=shard_paths("train"),
        max_components=EVAL["pca"]["max_components"],
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/baseline_fit_pca.py"


rule baseline_tune:
    input:
        unpack(lambda w: ({"basis": PCA_BASIS} if w.baseline == "pca" else {})),
        shards=split_index("val"),
    output:
        BASELINE_PARAMS,
    log:
        logs("evaluate/baseline_tune/{baseline}.log"),
    benchmark:
        benchmarks("evaluate/baseline_tune/{baseline}.tsv")
    wildcard_constraints:
        baseline=name_regex(TUNED_BASELINES),
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=script_code("baseline_tune.py"),
        shards=shard_paths("val"),
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
        test=TEST_INPUT,
    output:
        **{k: v.replace("{method}", "{baseline}") for k, v in PREDICT_OUTPUTS.items()},
        predictions=expand(PREDICTION, method="{baseline}", chunk=PREDICT_CHUNKS),
    log:
        logs(f"evaluate/denoise/{{baseline}}/{PREDICT_JOB}.log"),
    benchmark:
        benchmarks(f"evaluate/denoise/{{baseline}}/{PREDICT_JOB}.tsv")
    wildcard_constraints:
        baseline=name_regex(BASELINES),
        chunk=name_regex(list(CHUNKS)),
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        code=script_code("denoise_baseline.py"),
        shards=test_shards_of_job,
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/denoise_baseline.py"


rule denoise_model:
    input:
        test=TEST_INPUT,
        model=MODEL_FILE,
    output:
        **{k: v.replace("{method}", "{model}") for k, v in PREDICT_OUTPUTS.items()},
        predictions=expand(PREDICTION, method="{model}", chunk=PREDICT_CHUNKS),
    log:
        logs(f"evaluate/denoise/{{model}}/{PREDICT_JOB}.log"),
    benchmark:
        benchmarks(f"evaluate/denoise/{{model}}/{PREDICT_JOB}.tsv")
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
        code=script_code("denoise_model.py"),
        shards=test_shards_of_job,
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/denoise_model.py"


rule errors:
    input:
        test=split_index("test"),
        pred=prediction_inputs,
    output:
        ERRORS,
    log:
        logs("evaluate/errors/{method}.log"),
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        code=script_code("errors_method.py"),
        test=shard_paths("test"),
        predictions=lambda w: prediction_paths(w.method),
        metrics=EVAL["metrics"],
        batch_size=EVAL["batch_size"],
    script:
        "../scripts/errors_method.py"


rule errbins:
    # one job per method for all binning parameters: the error table is read once, and a
    # 1000-shard configuration does not plan and run methods × parameters tiny jobs
    input:
        errors=ERRORS,
    output:
        expand(ERRBINS, param=BIN_PARAMS, allow_missing=True),
    log:
        logs("evaluate/errbins/{method}.log"),
    benchmark:
        benchmarks("evaluate/errbins/{method}.tsv")
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code("errbins_method.py"),
        params=BIN_PARAMS,
        bins={param: EVAL["bins"][param] for param in BIN_PARAMS},
        metrics=EVAL["bin_metrics"],
        bootstrap=EVAL["bootstrap"],
        seeds=lambda w: {
            param: derive_seed(config["seed"], "errbins", w.method, param)
            for param in BIN_PARAMS
        },
    script:
        "../scripts/errbins_method.py"


localrules:
    errbins,


ALL_TARGETS.extend(expand(ERRBINS, method=METHODS, param=BIN_PARAMS))
