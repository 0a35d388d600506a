"""Leave-one-out error: zero for a grid linear along the axis, positive for a curved one."""

import numpy as np
import pytest

from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid
from pfsdenoise.grid.validate import leave_one_out

AXES = {"teff": [4000.0, 4500.0, 5000.0, 5500.0], "logg": [4.0], "mh": [0.0], "alpha": [0.0]}


def grid_of(tmp_path, func):
    wave = log_uniform_wave(8000.0, 8002.0, 1e-4)
    flux = np.stack([func(t) * np.ones(len(wave)) for t in AXES["teff"]])
    write_grid(tmp_path / "g", AXES, wave, flux.reshape(4, 1, 1, 1, -1), source="t")
    return open_grid(tmp_path / "g")


def test_linear_axis_has_no_error(tmp_path):
    err = leave_one_out(grid_of(tmp_path, lambda t: 1 + t / 1000), (1, 0, 0, 0), "teff")
    assert err["linear_max"] < 1e-6 and err["spline_max"] < 1e-6


def test_curved_axis_errors_and_spline_helps(tmp_path):
    err = leave_one_out(grid_of(tmp_path, lambda t: (t / 1000) ** 3), (1, 0, 0, 0), "teff")
    assert err["linear_mean"] > 0.01 and err["spline_mean"] < err["linear_mean"]
    with pytest.raises(ValueError, match="interior"):
        leave_one_out(open_grid(tmp_path / "g"), (0, 0, 0, 0), "teff")
