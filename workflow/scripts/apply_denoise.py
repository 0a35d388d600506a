"""Snakemake adapter: denoise one of the user's files with a trained model (rule apply_denoise)."""

from pfsdenoise.denoise.batch import denoise_one
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
denoise_one(
    snakemake.input.model,
    snakemake.input.spectra,
    snakemake.output[0],
    options=snakemake.params.options,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
