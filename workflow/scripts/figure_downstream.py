"""Snakemake adapter: the downstream figure (recovered RV and parameters vs S/N)."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.downstream import downstream_files
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
downstream_files(
    snakemake.input[0],
    [snakemake.output.png, snakemake.output.pdf],
    options=snakemake.params.plots,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
