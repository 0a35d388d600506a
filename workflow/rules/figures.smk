# Figures and tables of the evaluation, and what `snakemake --report` shows. Only these rules get
# the `plots` config section, so a plotting option reruns figures and tables, nothing upstream.
from pfsdenoise.plots import FIG1_PARAMS

PLOTS = config["plots"]
PLOT_CODE = src("plots/*.py", "evaluate/binning.py", "shards.py")


report: "../report/workflow.rst"


rule figure_fig1:
    input:
        bins=lambda w: expand(
            "results/errbins/{method}/{param}.parquet",
            method=w.method,
            param=FIG1_PARAMS,
        ),
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig1_{method}.png",
            caption="../report/fig1.rst",
            category="Fig. 1: errors vs parameters",
            labels={"method": "{method}"},
        ),
        pdf="results/figures/fig1_{method}.pdf",
    log:
        "results/logs/figures/fig1_{method}.log",
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        plots=PLOTS,
        bins=lambda w: errbin_paths([w.method], FIG1_PARAMS),
    script:
        "../scripts/figure_fig1.py"


rule figure_fig1_all:
    input:
        bins=expand(
            "results/errbins/{method}/{param}.parquet",
            method=METHODS,
            param=FIG1_PARAMS,
        ),
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/fig1_all.png",
            caption="../report/fig1_all.rst",
            category="Fig. 1: errors vs parameters",
            labels={"method": "all methods"},
        ),
        pdf="results/figures/fig1_all.pdf",
    log:
        "results/logs/figures/fig1_all.log",
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        plots=PLOTS,
        bins=errbin_paths(METHODS, FIG1_PARAMS),
    script:
        "../scripts/figure_fig1.py"


rule figure_ratio:
    input:
        bins=expand("results/errbins/{method}/snr.parquet", method=METHODS),
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/error_ratio_snr.png",
            caption="../report/ratio.rst",
            category="Error ratio to the noisy input",
        ),
        pdf="results/figures/error_ratio_snr.pdf",
    log:
        "results/logs/figures/error_ratio_snr.log",
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        plots=PLOTS,
        bins={m: f"results/errbins/{m}/snr.parquet" for m in METHODS},
    script:
        "../scripts/figure_ratio.py"


rule figure_examples:
    input:
        errors="results/errors/{method}.parquet",
        test=shard_paths("test"),
        pred=lambda w: prediction_paths(w.method),
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/examples_{method}.png",
            caption="../report/examples.rst",
            category="Example spectra",
            labels={"method": "{method}"},
        ),
        pdf="results/figures/examples_{method}.pdf",
    log:
        "results/logs/figures/examples_{method}.log",
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        plots=PLOTS,
    script:
        "../scripts/figure_examples.py"


rule figure_training:
    input:
        history="results/models/{model}/history.csv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/figures/training_{model}.png",
            caption="../report/training.rst",
            category="Training curves",
            labels={"model": "{model}"},
        ),
        pdf="results/figures/training_{model}.pdf",
    log:
        "results/logs/figures/training_{model}.log",
    wildcard_constraints:
        model=name_regex(MODEL_NAMES),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        plots=PLOTS,
    script:
        "../scripts/figure_training.py"


rule table_comparison:
    input:
        bins=expand("results/errbins/{method}/snr.parquet", method=METHODS),
        code=src("evaluate/table.py", "evaluate/binning.py", "shards.py"),
    output:
        csv=report(
            "results/tables/comparison.csv",
            caption="../report/table.rst",
            category="Comparison table",
            labels={"format": "CSV"},
        ),
        md=report(
            "results/tables/comparison.md",
            caption="../report/table.rst",
            category="Comparison table",
            labels={"format": "Markdown"},
        ),
    log:
        "results/logs/figures/table_comparison.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        metric=PLOTS["table_metric"],
        statistic=PLOTS["table_statistic"],
        models=MODEL_NAMES,
        baselines=BASELINES,
        bins={m: f"results/errbins/{m}/snr.parquet" for m in METHODS},
    script:
        "../scripts/table_comparison.py"


localrules:
    figure_fig1,
    figure_fig1_all,
    figure_ratio,
    figure_examples,
    figure_training,
    table_comparison,


ALL_TARGETS.extend(
    [
        *figure_files("fig1_all"),
        *figure_files("error_ratio_snr"),
        *(f for m in MODEL_NAMES for f in figure_files(f"fig1_{m}")),
        *(f for m in MODEL_NAMES for f in figure_files(f"training_{m}")),
        *(f for m in METHODS for f in figure_files(f"examples_{m}")),
        "results/tables/comparison.csv",
        "results/tables/comparison.md",
    ]
)
