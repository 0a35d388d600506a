# The template-fit oracle (issue 15, docs/evaluation.md): the simulator's forward model fitted to
# every noisy test spectrum (its predictions join METHODS through evaluate_common.smk), the
# downstream fits of each method's denoised output, their summary and the coverage of σ̂.
TEMPFIT = config["tempfit"]
TEMPFIT_FIT = {
    k: TEMPFIT[k]
    for k in ("calibration_degree", "ebv", "batch_size", "device", "scan", "optimizer")
}
DOWNSTREAM = TEMPFIT["downstream"]
DOWNSTREAM_METHODS = (
    [m for m in METHODS if m not in ("identity", *ORACLES)]
    if DOWNSTREAM["methods"] == "all"
    else list(DOWNSTREAM["methods"])
)
if set(DOWNSTREAM_METHODS) - set(METHODS):
    raise ValueError(
        f"tempfit.downstream.methods {sorted(set(DOWNSTREAM_METHODS) - set(METHODS))} are not "
        f"methods of this run ({METHODS})"
    )
SNR_EDGES = EVAL["bins"]["snr"]["edges"]
TEMPFIT_FITS = f"{RESULTS}/tempfit/fits/{{chunk}}.parquet"
DOWNSTREAM_FITS = f"{RESULTS}/tempfit/downstream/{{method}}/{{chunk}}.parquet"
# written last by each downstream job: what the table depends on (one file per method)
DOWNSTREAM_INDEX = f"{RESULTS}/tempfit/downstream/{{method}}/index.json"
# the oracle's fit tables come from the prediction jobs of tempfit: their index stands for them
TEMPFIT_FIT_INPUTS = (
    [PREDICTION_INDEX.format(method="tempfit")]
    if PER_METHOD
    else expand(TEMPFIT_FITS, chunk=list(CHUNKS))
)


rule tempfit:
    input:
        test=TEST_INPUT,
        grid=GRID_FILES,
        noise=NOISE_TABLE,
    output:
        **{k: v.replace("{method}", "tempfit") for k, v in PREDICT_OUTPUTS.items()},
        predictions=expand(PREDICTION, method="tempfit", chunk=PREDICT_CHUNKS),
        fits=expand(TEMPFIT_FITS, chunk=PREDICT_CHUNKS),
    log:
        logs(f"tempfit/fit/{PREDICT_JOB}.log"),
    benchmark:
        benchmarks(f"tempfit/fit/{PREDICT_JOB}.tsv")
    wildcard_constraints:
        chunk=name_regex(list(CHUNKS)),
    conda:
        ENV
    threads: TEMPFIT["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=TEMPFIT["gpus"],
    params:
        code=script_code("tempfit_fit.py"),
        shards=test_shards_of_job,
        grid_dir=lambda w, input: os.path.dirname(input.grid[0]),
        observe=config["observe"],
        fit=TEMPFIT_FIT,
        max_spectra=TEMPFIT["max_spectra"],
    script:
        "../scripts/tempfit_fit.py"


rule tempfit_downstream:
    input:
        test=split_index("test"),
        pred=prediction_inputs,
        grid=GRID_FILES,
        noise=NOISE_TABLE,
    output:
        fits=expand(DOWNSTREAM_FITS, method="{method}", chunk=list(CHUNKS)),
        index=DOWNSTREAM_INDEX,
    log:
        logs("tempfit/downstream/{method}.log"),
    benchmark:
        benchmarks("tempfit/downstream/{method}.tsv")
    wildcard_constraints:
        method=name_regex(DOWNSTREAM_METHODS),
    conda:
        ENV
    threads: TEMPFIT["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=TEMPFIT["gpus"],
    params:
        code=script_code("tempfit_downstream.py"),
        test=shard_paths("test"),
        predictions=lambda w: prediction_paths(w.method),
        grid_dir=lambda w, input: os.path.dirname(input.grid[0]),
        observe=config["observe"],
        fit=TEMPFIT_FIT,
        sigma=DOWNSTREAM["sigma"],
        max_spectra=DOWNSTREAM["max_spectra"],
    script:
        "../scripts/tempfit_downstream.py"


rule table_downstream:
    input:
        oracle=TEMPFIT_FIT_INPUTS,
        methods=expand(DOWNSTREAM_INDEX, method=DOWNSTREAM_METHODS),
    output:
        md=report(
            TABLE.format(stem="downstream", ext="md"),
            caption="../report/downstream.rst",
            category="Downstream: RV and parameters",
            labels={"format": "Markdown"},
        ),
        csv=TABLE.format(stem="downstream", ext="csv"),
        seeded=TABLE.format(stem="downstream_seeded", ext="csv"),
    log:
        logs("tempfit/table_downstream.log"),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code("table_downstream.py"),
        oracle=expand(TEMPFIT_FITS, chunk=list(CHUNKS)),
        methods={
            m: expand(DOWNSTREAM_FITS, method=m, chunk=list(CHUNKS))
            for m in DOWNSTREAM_METHODS
        },
        edges=SNR_EDGES,
        outlier_nsigma=DOWNSTREAM["outlier_nsigma"],
        sigma=DOWNSTREAM["sigma"],
    script:
        "../scripts/table_downstream.py"


rule figure_downstream:
    input:
        TABLE.format(stem="downstream", ext="csv"),
    output:
        png=report(
            FIGURE.format(stem="downstream", ext="png"),
            caption="../report/downstream.rst",
            category="Downstream: RV and parameters",
            labels={"format": "figure"},
        ),
        pdf=FIGURE.format(stem="downstream", ext="pdf"),
    log:
        logs("figures/downstream.log"),
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        code=script_code("figure_downstream.py"),
        plots=PLOTS,
    script:
        "../scripts/figure_downstream.py"


rule table_coverage:
    input:
        test=split_index("test"),
        pred=[f for m in METHODS for f in predictions_of(m)],
    output:
        md=report(
            TABLE.format(stem="coverage", ext="md"),
            caption="../report/coverage.rst",
            category="Uncertainty of the denoised flux",
            labels={"format": "Markdown"},
        ),
        csv=TABLE.format(stem="coverage", ext="csv"),
    log:
        logs("figures/table_coverage.log"),
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        code=script_code("table_coverage.py"),
        test=shard_paths("test"),
        preds={m: prediction_paths(m) for m in METHODS},
        edges=SNR_EDGES,
    script:
        "../scripts/table_coverage.py"


localrules:
    table_downstream,
    figure_downstream,
    table_coverage,


ALL_TARGETS.extend(
    [
        TABLE.format(stem="downstream", ext="md"),
        *figure_files("downstream"),
        TABLE.format(stem="coverage", ext="md"),
    ]
)
