"""Snakemake adapter: tune one baseline per S/N bin on the validation shards."""

from pfsdenoise.evaluate.tuning import tune_from_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.seeding import make_rng

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
tune_from_shards(
    snakemake.wildcards.baseline,
    p.shards,
    snakemake.output[0],
    grid=p.grid,
    fixed=p.fixed,
    snr_edges=p.tune["snr_edges"],
    max_spectra=p.tune["max_spectra"],
    min_spectra=p.tune["min_spectra"],
    min_truth=p.min_truth,
    rng=make_rng(p.seed),
    basis_path=snakemake.input.get("basis"),
    provenance=job_record(snakemake.rule, p, snakemake.input, snakemake.wildcards),
)
