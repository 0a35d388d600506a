"""The on-disk grid format: round trip, memory mapping, atomic writes, clear errors."""

import json

import numpy as np
import pytest

from pfsdenoise.grid.store import (
    GridFormatError,
    grid_writer,
    log_uniform_wave,
    open_grid,
    write_grid,
)

AXES = {"teff": [4000.0, 5000.0], "logg": [1.0, 2.0, 3.0], "mh": [0.0], "alpha": [0.0, 0.4]}


def make(tmp_path, valid=None, continuum=True):
    wave = log_uniform_wave(7000.0, 7010.0, 1e-4)
    rng = np.random.default_rng(0)
    flux = rng.uniform(1, 2, (2, 3, 1, 2, len(wave))).astype(np.float32)
    cont = flux + 1 if continuum else None
    write_grid(tmp_path / "g", AXES, wave, flux, valid, cont, source="test", resolution=5e4)
    return flux, wave


def test_round_trip_memmap_and_manifest(tmp_path):
    flux, wave = make(tmp_path)
    grid = open_grid(tmp_path / "g")
    assert grid.axis_names == ("teff", "logg", "mh", "alpha")
    assert grid.shape == (2, 3, 1, 2)
    assert isinstance(grid.flux, np.memmap) and not grid.flux.flags.writeable
    np.testing.assert_array_equal(grid.flux, flux)
    np.testing.assert_allclose(grid.wave, wave)
    assert grid.log_step == pytest.approx(1e-4)
    assert grid.valid.all()
    manifest = json.loads((tmp_path / "g" / "grid.json").read_text())
    assert manifest["flux"]["unit"] == "erg s-1 cm-2 Angstrom-1"
    assert manifest["wave"]["medium"] == "vacuum"
    assert grid.metadata["grid_id"].startswith("test-")


def test_holes_are_nan_and_invalid(tmp_path):
    valid = np.ones((2, 3, 1, 2), bool)
    valid[1, 0] = False
    make(tmp_path, valid=valid)
    grid = open_grid(tmp_path / "g")
    np.testing.assert_array_equal(grid.valid, valid)
    assert np.isnan(grid.flux[1, 0]).all()


def test_failed_write_leaves_no_grid(tmp_path):
    wave = log_uniform_wave(7000.0, 7010.0, 1e-4)
    with (
        pytest.raises(GridFormatError, match="negative"),
        grid_writer(tmp_path / "g", AXES, wave, source="test") as w,
    ):
        w.set_node((0, 0, 0, 0), np.ones(len(wave)))
        w.set_node((0, 1, 0, 0), -np.ones(len(wave)))
    assert not (tmp_path / "g").exists()
    assert list(tmp_path.iterdir()) == []


def test_rejects_non_log_uniform_wave(tmp_path):
    wave = np.round(log_uniform_wave(7000.0, 7010.0, 1e-4), 1)  # printed with few decimals
    with pytest.raises(GridFormatError, match="not log-uniform"):
        write_grid(tmp_path / "g", AXES, wave, np.ones((2, 3, 1, 2, len(wave))), source="t")


def test_open_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no grid here"):
        open_grid(tmp_path / "missing")
    make(tmp_path)
    (tmp_path / "g" / "flux.npy").write_bytes(b"truncated")
    with pytest.raises(GridFormatError, match=r"flux\.npy"):
        open_grid(tmp_path / "g")
