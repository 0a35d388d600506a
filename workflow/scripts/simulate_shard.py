"""Snakemake adapter: simulate one chunk of one split into a Parquet shard."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.simulate.produce import produce_shard

setup_logging(snakemake.log[0], code=snakemake.params.code)
produce_shard(
    snakemake.output[0],
    grid_dir=snakemake.params.grid_dir,
    noise_table=snakemake.input.noise,
    split=snakemake.wildcards.split,
    chunk=snakemake.params.chunk,
    n_spectra=snakemake.params.n_spectra,
    seed=snakemake.params.seed,
    sampling=snakemake.params.sampling,
    observe=snakemake.params.observe,
    row_group_size=snakemake.params.row_group_size,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
