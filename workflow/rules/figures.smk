# Figures and tables of the evaluation, and what `snakemake --report` shows. Only these rules get
# the `plots` config section, so a plotting option reruns figures and tables, nothing upstream.
from pfsdenoise.plots import FIG1_PARAMS

PLOTS = config["plots"]


report: "../report/workflow.rst"


rule figure_fig1:
    input:
        bins=lambda w: expand(ERRBINS, method=w.method, param=FIG1_PARAMS),
    output:
        png=report(
            FIGURE.format(stem="fig1_{method}", ext="png"),
            caption="../report/fig1.rst",
            category="Fig. 1: errors vs parameters",
            labels={"method": "{method}"},
        ),
        pdf=FIGURE.format(stem="fig1_{method}", ext="pdf"),
    log:
        logs("figures/fig1_{method}.log"),
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        code=script_code("figure_fig1.py"),
        plots=PLOTS,
        bins=lambda w: errbin_paths([w.method], FIG1_PARAMS),
    script:
        "../scripts/figure_fig1.py"


rule figure_fig1_all:
    input:
        bins=expand(ERRBINS, method=METHODS, param=FIG1_PARAMS),
    output:
        png=report(
            FIGURE.format(stem="fig1_all", ext="png"),
            caption="../report/fig1_all.rst",
            category="Fig. 1: errors vs parameters",
            labels={"method": "all methods"},
        ),
        pdf=FIGURE.format(stem="fig1_all", ext="pdf"),
    log:
        logs("figures/fig1_all.log"),
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        code=script_code("figure_fig1.py"),
        plots=PLOTS,
        bins=errbin_paths(METHODS, FIG1_PARAMS),
    script:
        "../scripts/figure_fig1.py"


rule figure_ratio:
    input:
        bins=expand(ERRBINS, method=METHODS, param="snr"),
    output:
        png=report(
            FIGURE.format(stem="error_ratio_snr", ext="png"),
            caption="../report/ratio.rst",
            category="Error ratio to the noisy input",
        ),
        pdf=FIGURE.format(stem="error_ratio_snr", ext="pdf"),
    log:
        logs("figures/error_ratio_snr.log"),
    conda:
        ENV
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        code=script_code("figure_ratio.py"),
        plots=PLOTS,
        bins={m: ERRBINS.format(method=m, param="snr") for m in METHODS},
    script:
        "../scripts/figure_ratio.py"


rule figure_examples:
    input:
        errors=ERRORS,
        test=split_index("test"),
        pred=prediction_inputs,
    output:
        png=report(
            FIGURE.format(stem="examples_{method}", ext="png"),
            caption="../report/examples.rst",
            category="Example spectra",
            labels={"method": "{method}"},
        ),
        pdf=FIGURE.format(stem="examples_{method}", ext="pdf"),
    log:
        logs("figures/examples_{method}.log"),
    wildcard_constraints:
        method=name_regex(METHODS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code("figure_examples.py"),
        test=shard_paths("test"),
        predictions=lambda w: prediction_paths(w.method),
        plots=PLOTS,
    script:
        "../scripts/figure_examples.py"


rule figure_training:
    input:
        history=MODEL_HISTORY,
    output:
        png=report(
            FIGURE.format(stem="training_{model}", ext="png"),
            caption="../report/training.rst",
            category="Training curves",
            labels={"model": "{model}"},
        ),
        pdf=FIGURE.format(stem="training_{model}", ext="pdf"),
    log:
        logs("figures/training_{model}.log"),
    wildcard_constraints:
        model=name_regex(MODEL_NAMES),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=script_code("figure_training.py"),
        plots=PLOTS,
    script:
        "../scripts/figure_training.py"


rule table_comparison:
    input:
        bins=expand(ERRBINS, method=METHODS, param="snr"),
        errors=expand(ERRORS, method=METHODS if ORACLES else []),
    output:
        csv=report(
            TABLE.format(stem="comparison", ext="csv"),
            caption="../report/table.rst",
            category="Comparison table",
            labels={"format": "CSV"},
        ),
        md=report(
            TABLE.format(stem="comparison", ext="md"),
            caption="../report/table.rst",
            category="Comparison table",
            labels={"format": "Markdown"},
        ),
    log:
        logs("figures/table_comparison.log"),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=script_code("table_comparison.py"),
        metric=PLOTS["table_metric"],
        statistic=PLOTS["table_statistic"],
        models=MODEL_NAMES,
        baselines=BASELINES,
        bins={m: ERRBINS.format(method=m, param="snr") for m in METHODS},
        oracle=ORACLES[0] if ORACLES else None,
        errors={m: ERRORS.format(method=m) for m in METHODS} if ORACLES else {},
        snr_edges=EVAL["bins"]["snr"]["edges"],
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
        TABLE.format(stem="comparison", ext="csv"),
        TABLE.format(stem="comparison", ext="md"),
    ]
)
