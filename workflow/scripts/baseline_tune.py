"""Snakemake adapter: tune one baseline per S/N bin on the validation shards."""

from pfsdenoise.evaluate.tuning import tune_from_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record, write_sidecar
from pfsdenoise.seeding import make_rng

setup_logging(snakemake.log[0])
p = snakemake.params
basis = snakemake.input.get("basis")
tune_from_shards(
    snakemake.wildcards.baseline,
    snakemake.input.shards,
    snakemake.output[0],
    grid=p.grid,
    fixed=p.fixed,
    snr_edges=p.tune["snr_edges"],
    max_spectra=p.tune["max_spectra"],
    min_spectra=p.tune["min_spectra"],
    min_truth=p.min_truth,
    rng=make_rng(p.seed),
    basis_path=basis,
)
write_sidecar(
    snakemake.output[0],
    make_record(
        "baseline_tune",
        config={"grid": p.grid, "fixed": p.fixed, "tune": p.tune, "min_truth": p.min_truth},
        seed=p.seed,
        inputs=[*snakemake.input.shards, *([basis] if basis else [])],
        code=snakemake.input.code,
    ),
)
