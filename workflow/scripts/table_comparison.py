"""Snakemake adapter: comparison table of every method per S/N bin (CSV and Markdown)."""

from pfsdenoise.evaluate.table import write_comparison
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
write_comparison(
    p.bins,
    snakemake.output.csv,
    snakemake.output.md,
    models=p.models,
    baselines=p.baselines,
    metric=p.metric,
    statistic=p.statistic,
    oracle=p.oracle,
    error_paths=p.errors,
    snr_edges=p.snr_edges,
    provenance=job_record(snakemake.rule, p, snakemake.input),
)
