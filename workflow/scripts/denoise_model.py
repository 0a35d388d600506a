"""Snakemake adapter: denoise one test shard with one trained model (GPU when present)."""

from pfsdenoise.denoise.model import load_model
from pfsdenoise.evaluate.predict import denoise_shard
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
denoise_shard(
    snakemake.input.shard,
    snakemake.output[0],
    load_model(snakemake.input.model),
    method=snakemake.wildcards.model,
    batch_size=snakemake.params.batch_size,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
