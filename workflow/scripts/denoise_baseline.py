"""Snakemake adapter: denoise the job's test shards (one, or every chunk's) with one classical
baseline."""

from pfsdenoise.evaluate.predict import baseline_denoiser, denoise_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
fitted = [p for p in (snakemake.input.get("params"), snakemake.input.get("basis")) if p]
denoise_shards(
    snakemake.params.shards,
    snakemake.output.predictions,
    baseline_denoiser(
        snakemake.wildcards.baseline, snakemake.input.get("params"), snakemake.input.get("basis")
    ),
    method=snakemake.wildcards.baseline,
    batch_size=snakemake.params.batch_size,
    index=snakemake.output.get("index"),
    provenance=lambda shard: job_record(
        snakemake.rule, snakemake.params, [shard, *fitted], snakemake.wildcards
    ),
)
