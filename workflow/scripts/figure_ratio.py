"""Snakemake adapter: error ratio to the noisy input vs S/N for all methods."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import ratio_files

setup_logging(snakemake.log[0])
ratio_files(
    snakemake.params.bins,
    [snakemake.output.png, snakemake.output.pdf],
    options=snakemake.params.plots,
    code=snakemake.input.code,
)
