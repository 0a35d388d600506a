"""Snakemake adapter: compute the synthetic grid nodes of one Teff value."""

from pfsdenoise.grid.build import build_slice
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
build = snakemake.params.build
build_slice(
    snakemake.output[0],
    snakemake.params.teff,
    snakemake.params.axes,
    wave_min=build["wave_min"],
    wave_max=build["wave_max"],
    resolution=build["resolution"],
    logg_min=build["logg_min"],
    model=snakemake.params.model,
    continuum=snakemake.params.continuum,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
