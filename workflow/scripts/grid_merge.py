"""Snakemake adapter: stack the Teff slices into the synthetic grid (written atomically)."""

from pfsdenoise.grid.build import merge_slices
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
merge_slices(
    snakemake.params.grid_dir,
    snakemake.input.slices,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
