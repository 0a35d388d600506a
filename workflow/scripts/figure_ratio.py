"""Snakemake adapter: error ratio to the noisy input vs S/N for all methods."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import ratio_files
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
ratio_files(
    snakemake.params.bins,
    [snakemake.output.png, snakemake.output.pdf],
    options=snakemake.params.plots,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
