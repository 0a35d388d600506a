"""Snakemake adapter: error statistics of one method per bin of one parameter."""

from pfsdenoise.evaluate.binning import write_errbins
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.seeding import make_rng

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
write_errbins(
    snakemake.input.errors,
    snakemake.output[0],
    column=p.bins["column"],
    edges=p.bins["edges"],
    metrics=p.metrics,
    n_boot=p.bootstrap["n"],
    level=p.bootstrap["level"],
    rng=make_rng(p.seed),
    provenance=job_record(snakemake.rule, p, snakemake.input, snakemake.wildcards),
)
