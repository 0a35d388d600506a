"""Snakemake adapter: example spectra of one method at low, median and high S/N."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import examples_files
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
examples_files(
    snakemake.input.errors,
    snakemake.params.test,
    snakemake.params.predictions,
    [snakemake.output.png, snakemake.output.pdf],
    method=snakemake.wildcards.method,
    options=snakemake.params.plots,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
