"""Snakemake adapter: import downloaded BOSZ files into the grid format."""

from pfsdenoise.grid.bosz import import_bosz
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
build = snakemake.params.build
import_bosz(
    snakemake.params.directory,
    snakemake.params.grid_dir,
    release=snakemake.params.release,
    wave_min=build["wave_min"],
    wave_max=build["wave_max"],
    axes=snakemake.params.axes,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
