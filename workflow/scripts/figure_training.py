"""Snakemake adapter: training curves of one model."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import training_files

setup_logging(snakemake.log[0])
training_files(
    snakemake.input.history,
    [snakemake.output.png, snakemake.output.pdf],
    model=snakemake.wildcards.model,
    options=snakemake.params.plots,
    code=snakemake.input.code,
)
