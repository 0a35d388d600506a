"""Snakemake adapter: error statistics of one method per bin of each binning parameter."""

from pfsdenoise.evaluate.binning import write_errbins
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.seeding import make_rng

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
outputs = {
    path: {**p.bins[param], "rng": make_rng(p.seeds[param])}
    for param, path in zip(p.params, snakemake.output, strict=True)
}
write_errbins(
    snakemake.input.errors,
    outputs,
    metrics=p.metrics,
    n_boot=p.bootstrap["n"],
    level=p.bootstrap["level"],
    provenance=job_record(snakemake.rule, p, snakemake.input, snakemake.wildcards),
)
