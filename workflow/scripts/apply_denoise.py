"""Snakemake adapter: denoise one of the user's files with a trained model (rule apply_denoise)."""

from pfsdenoise.denoise.batch import denoise_one
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record

setup_logging(snakemake.log[0])
denoise_one(
    snakemake.input.model,
    snakemake.input.spectra,
    snakemake.output[0],
    options=snakemake.params.options,
    provenance=make_record(
        "denoise",
        config=snakemake.params.options,
        inputs=[snakemake.input.spectra, snakemake.input.model],
    ),
)
