"""Snakemake adapter: precompute the ETC noise tables of the MR arm."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.observe.noise_table import produce_noise_table

setup_logging(snakemake.log[0])
produce_noise_table(
    snakemake.output.table, noise=dict(snakemake.params.noise), code=snakemake.input.code
)
