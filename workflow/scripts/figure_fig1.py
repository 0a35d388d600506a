"""Snakemake adapter: the paper's Fig. 1 for one method or overlaid for all."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.plots.files import fig1_files
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
fig1_files(
    snakemake.params.bins,
    [snakemake.output.png, snakemake.output.pdf],
    options=snakemake.params.plots,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
