"""Snakemake adapter: per-spectrum errors of one method over all test shards."""

from pfsdenoise.evaluate.errors import write_error_table
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
m = snakemake.params.metrics
write_error_table(
    snakemake.params.test,
    snakemake.params.predictions,
    snakemake.output[0],
    method=snakemake.wildcards.method,
    lines=m["lines"],
    line_half_width=m["line_half_width"],
    min_truth=m["min_truth"],
    batch_size=snakemake.params.batch_size,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
