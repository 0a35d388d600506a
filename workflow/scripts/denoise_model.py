"""Snakemake adapter: denoise the job's test shards (one, or every chunk's) with one trained
model (GPU when present)."""

from pfsdenoise.denoise.model import load_model
from pfsdenoise.evaluate.predict import denoise_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
denoise_shards(
    snakemake.params.shards,
    snakemake.output.predictions,
    load_model(snakemake.input.model),
    method=snakemake.wildcards.model,
    batch_size=snakemake.params.batch_size,
    index=snakemake.output.get("index"),
    provenance=lambda shard: job_record(
        snakemake.rule, snakemake.params, [shard, snakemake.input.model], snakemake.wildcards
    ),
)
