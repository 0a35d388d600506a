"""Snakemake adapter: denoise one test shard with one classical baseline."""

from pfsdenoise.evaluate.predict import baseline_denoiser, denoise_shard
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
denoise_shard(
    snakemake.input.shard,
    snakemake.output[0],
    baseline_denoiser(
        snakemake.wildcards.baseline, snakemake.input.get("params"), snakemake.input.get("basis")
    ),
    method=snakemake.wildcards.baseline,
    batch_size=snakemake.params.batch_size,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
