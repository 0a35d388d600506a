"""Snakemake adapter: training curves of one model."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import training_files
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
training_files(
    snakemake.input.history,
    [snakemake.output.png, snakemake.output.pdf],
    model=snakemake.wildcards.model,
    options=snakemake.params.plots,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
