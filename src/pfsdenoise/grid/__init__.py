"""Spectral grids: one on-disk format, the embedded synthetic grid, a BOSZ importer, interpolation.

Downstream code needs only :func:`open_grid`, :func:`interpolate` and :func:`complete_cells`.
"""

from pfsdenoise.grid.interpolate import (
    GridHoleError,
    OutOfGridError,
    complete_cells,
    interpolate,
    interpolate_spline,
    linear_weights,
    spline_weights,
)
from pfsdenoise.grid.store import (
    Grid,
    GridFormatError,
    grid_files,
    grid_writer,
    log_uniform_wave,
    open_grid,
    write_grid,
)

__all__ = [
    "Grid",
    "GridFormatError",
    "GridHoleError",
    "OutOfGridError",
    "complete_cells",
    "grid_files",
    "grid_writer",
    "interpolate",
    "interpolate_spline",
    "linear_weights",
    "log_uniform_wave",
    "open_grid",
    "spline_weights",
    "write_grid",
]
