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


rule tempfit:
    input:
        shard="results/shards/test/{chunk}.parquet",
        grid=GRID_FILES,
        noise=NOISE_TABLE,
    output:
        pred="results/predictions/tempfit/{chunk}.parquet",
        fits="results/tempfit/fits/{chunk}.parquet",
    log:
        "results/logs/tempfit/fit/{chunk}.log",
    benchmark:
        "results/benchmarks/tempfit/fit/{chunk}.tsv"
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
        grid_dir=lambda w, input: os.path.dirname(input.grid[0]),
        observe=config["observe"],
        fit=TEMPFIT_FIT,
        max_spectra=TEMPFIT["max_spectra"],
        code=script_code("tempfit_fit.py"),
    script:
        "../scripts/tempfit_fit.py"


rule tempfit_downstream:
    input:
        test=shard_paths("test"),
        pred=lambda w: prediction_paths(w.method),
        grid=GRID_FILES,
        noise=NOISE_TABLE,
    output:
        expand(
            "results/tempfit/downstream/{{method}}/{chunk}.parquet", chunk=list(CHUNKS)
        ),
    log:
        "results/logs/tempfit/downstream/{method}.log",
    benchmark:
        "results/benchmarks/tempfit/downstream/{method}.tsv"
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
        grid_dir=lambda w, input: os.path.dirname(input.grid[0]),
        observe=config["observe"],
        fit=TEMPFIT_FIT,
        sigma=DOWNSTREAM["sigma"],
        max_spectra=DOWNSTREAM["max_spectra"],
        code=script_code("tempfit_downstream.py"),
    script:
        "../scripts/tempfit_downstream.py"


rule table_downstream:
    input:
        oracle=expand("results/tempfit/fits/{chunk}.parquet", chunk=list(CHUNKS)),
        methods=expand(
            "results/tempfit/downstream/{method}/{chunk}.parquet",
            method=DOWNSTREAM_METHODS,
            chunk=list(CHUNKS),
        ),
    output:
        md=report(
            "results/tables/downstream.md",
            caption="../report/downstream.rst",
            category="Downstream: RV and parameters",
            labels={"format": "Markdown"},
        ),
        csv="results/tables/downstream.csv",
        seeded="results/tables/downstream_seeded.csv",
    log:
        "results/logs/tempfit/table_downstream.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods={
            m: expand(
                "results/tempfit/downstream/{method}/{chunk}.parquet",
                method=m,
                chunk=list(CHUNKS),
            )
            for m in DOWNSTREAM_METHODS
        },
        edges=SNR_EDGES,
        outlier_nsigma=DOWNSTREAM["outlier_nsigma"],
        sigma=DOWNSTREAM["sigma"],
        code=script_code("table_downstream.py"),
    script:
        "../scripts/table_downstream.py"


rule figure_downstream:
    input:
        "results/tables/downstream.csv",
    output:
        png=report(
            "results/figures/downstream.png",
            caption="../report/downstream.rst",
            category="Downstream: RV and parameters",
            labels={"format": "figure"},
        ),
        pdf="results/figures/downstream.pdf",
    log:
        "results/logs/figures/downstream.log",
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        plots=PLOTS,
        code=script_code("figure_downstream.py"),
    script:
        "../scripts/figure_downstream.py"


rule table_coverage:
    input:
        test=shard_paths("test"),
        pred=expand(
            "results/predictions/{method}/{chunk}.parquet",
            method=METHODS,
            chunk=list(CHUNKS),
        ),
    output:
        md=report(
            "results/tables/coverage.md",
            caption="../report/coverage.rst",
            category="Uncertainty of the denoised flux",
            labels={"format": "Markdown"},
        ),
        csv="results/tables/coverage.csv",
    log:
        "results/logs/figures/table_coverage.log",
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        preds={m: prediction_paths(m) for m in METHODS},
        edges=SNR_EDGES,
        code=script_code("table_coverage.py"),
    script:
        "../scripts/table_coverage.py"


localrules:
    table_downstream,
    figure_downstream,
    table_coverage,


ALL_TARGETS.extend(
    [
        "results/tables/downstream.md",
        *figure_files("downstream"),
        "results/tables/coverage.md",
    ]
)
