"""Building the synthetic grid from slices: holes, merge, bad input."""

import numpy as np
import pytest

from pfsdenoise.grid.build import build_slice, grid_wave, logg_minimum, merge_slices
from pfsdenoise.grid.interpolate import interpolate
from pfsdenoise.grid.store import open_grid

AXES = {"teff": [5000.0, 7000.0], "logg": [0.0, 2.0], "mh": [0.0], "alpha": [0.0]}
BUILD = {
    "wave_min": 8490.0,
    "wave_max": 8510.0,
    "resolution": 20000,
    "logg_min": [[5500, 0.0], [7500, 1.0]],
}


def test_slices_merge_into_one_grid_with_holes(tmp_path):
    for t in AXES["teff"]:
        build_slice(tmp_path / f"s{t:g}", t, AXES, continuum=True, **BUILD)
    merge_slices(tmp_path / "grid", [tmp_path / "s7000", tmp_path / "s5000"])
    grid = open_grid(tmp_path / "grid")
    np.testing.assert_array_equal(grid.axes["teff"], [5000.0, 7000.0])
    np.testing.assert_array_equal(grid.valid[:, :, 0, 0], [[True, True], [False, True]])
    assert grid.continuum is not None
    assert (tmp_path / "grid" / "grid.json.prov.json").exists() is False  # no record given
    spec = interpolate(grid, [[5000.0, 2.0, 0.0, 0.0]])
    np.testing.assert_array_equal(spec[0], grid.flux[0, 1, 0, 0])


def test_logg_minimum_table():
    table = [[5500, 0.0], [6500, 0.5], [7500, 1.0]]
    assert [logg_minimum(t, table) for t in (3000, 5500, 6000, 7500)] == [0.0, 0.0, 0.5, 1.0]


def test_refuses_low_resolution():
    with pytest.raises(ValueError, match="20000"):
        grid_wave(7000, 9000, 5000)
