"""Snakemake adapter: coverage of σ̂ per S/N bin for every method whose predictions carry it."""

from pfsdenoise.evaluate.coverage import write_coverage
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
write_coverage(
    p.test,
    p.preds,
    snakemake.output.csv,
    snakemake.output.md,
    edges=p.edges,
    provenance=job_record(snakemake.rule, p, snakemake.input),
)
