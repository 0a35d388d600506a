"""Snakemake adapter: import downloaded model files (BOSZ, PHOENIX-ACES, BT-Settl) into the grid format."""

from pfsdenoise.grid.importer import import_grid
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
build = snakemake.params.build
import_grid(
    snakemake.params.source,
    snakemake.params.directory,
    snakemake.params.grid_dir,
    wave_min=build["wave_min"],
    wave_max=build["wave_max"],
    resolution=build["resolution"],
    axes=snakemake.params.axes,
    options=snakemake.params.options,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
