"""Snakemake adapter: comparison table of every method per S/N bin (CSV and Markdown)."""

from pfsdenoise.evaluate.table import write_comparison
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record

setup_logging(snakemake.log[0])
p = snakemake.params
write_comparison(
    p.bins,
    snakemake.output.csv,
    snakemake.output.md,
    models=p.models,
    baselines=p.baselines,
    metric=p.metric,
    statistic=p.statistic,
    provenance=make_record(
        "table_comparison",
        config={"metric": p.metric, "statistic": p.statistic},
        inputs=snakemake.input.bins,
        code=snakemake.input.code,
    ),
)
