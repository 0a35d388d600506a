"""Snakemake adapter: the downstream figure (recovered RV and parameters vs S/N)."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import downstream_files

setup_logging(snakemake.log[0])
downstream_files(
    snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], options=snakemake.params.plots
)
