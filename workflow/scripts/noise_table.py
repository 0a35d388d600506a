"""Snakemake adapter: precompute the ETC noise tables of the MR arm."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.observe.noise_table import produce_noise_table
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
produce_noise_table(
    snakemake.output.table,
    noise=dict(snakemake.params.noise),
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
