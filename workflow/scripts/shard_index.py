"""Snakemake adapter: the index of one split's shards (what the jobs reading all of them need)."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.shard_index import write_shard_index

setup_logging(snakemake.log[0], code=snakemake.params.code)
write_shard_index(
    snakemake.input,
    snakemake.output[0],
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
