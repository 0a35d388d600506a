"""Snakemake adapter: denoise one test shard with one classical baseline."""

from pfsdenoise.evaluate.predict import baseline_denoiser, denoise_shard
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record

setup_logging(snakemake.log[0])
params_path = snakemake.input.get("params")
basis_path = snakemake.input.get("basis")
extra = [p for p in (params_path, basis_path) if p]
denoise_shard(
    snakemake.input.shard,
    snakemake.output[0],
    baseline_denoiser(snakemake.wildcards.baseline, params_path, basis_path),
    method=snakemake.wildcards.baseline,
    batch_size=snakemake.params.batch_size,
    provenance=make_record(
        "denoise",
        config={"method": snakemake.wildcards.baseline, "batch_size": snakemake.params.batch_size},
        inputs=[snakemake.input.shard, *extra],
        code=snakemake.input.code,
    ),
)
