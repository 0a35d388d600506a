"""Snakemake adapter: stack the Teff slices into the synthetic grid (written atomically)."""

from pfsdenoise.grid.build import merge_slices
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record

setup_logging(snakemake.log[0])
merge_slices(
    snakemake.params.grid_dir,
    snakemake.input.slices,
    provenance=make_record(
        "grid_merge",
        config=snakemake.params.config,
        inputs=snakemake.input.slices,
        code=snakemake.input.code,
    ),
)
