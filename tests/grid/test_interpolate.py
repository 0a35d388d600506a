"""Grid interpolation: exactness, linear reproduction, holes, range errors, the spline mode."""

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from pfsdenoise.grid.interpolate import (
    GridHoleError,
    OutOfGridError,
    complete_cells,
    interpolate,
    interpolate_spline,
)
from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid

AXES = {
    "teff": [3500.0, 4000.0, 4750.0, 5000.0],
    "logg": [0.0, 1.0, 2.5],
    "mh": [-1.0, 0.0, 0.5],
    "alpha": [0.0, 0.4],
}
SHAPE = (4, 3, 3, 2)


@pytest.fixture
def wave():
    return log_uniform_wave(8000.0, 8001.0, 2e-5)


def node_params():
    mesh = np.meshgrid(*AXES.values(), indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def random_params(rng, n):
    lo = np.array([v[0] for v in AXES.values()])
    hi = np.array([v[-1] for v in AXES.values()])
    return lo + (hi - lo) * rng.random((n, 4))


def make_grid(tmp_path, wave, func, valid=None):
    p = node_params()
    flux = np.stack([func(row, wave) for row in p]).reshape(*SHAPE, len(wave))
    if valid is not None:
        flux[~valid] = 1.0
    write_grid(tmp_path / "g", AXES, wave, flux.astype(np.float32), valid, source="test")
    return open_grid(tmp_path / "g")


def multilinear(row, wave):
    t, g, m, a = row
    return 1 + 1e-4 * t + 0.1 * g * (wave - 8000) + 0.05 * m * a + 0.02 * t / 1000 * g


def test_exact_at_nodes_and_reproduces_multilinear_functions(tmp_path, wave):
    grid = make_grid(tmp_path, wave, multilinear)
    p = node_params()
    np.testing.assert_array_equal(interpolate(grid, p), grid.flux.reshape(-1, len(wave)))
    q = random_params(np.random.default_rng(1), 50)
    want = np.stack([multilinear(r, wave) for r in q])
    np.testing.assert_allclose(interpolate(grid, q), want, rtol=2e-6)


def test_agrees_with_scipy_regular_grid_interpolator(tmp_path, wave):
    rng = np.random.default_rng(2)
    grid = make_grid(tmp_path, wave, lambda r, w: rng.uniform(1, 2, len(w)))
    ref = RegularGridInterpolator(tuple(grid.axes.values()), np.asarray(grid.flux))
    q = random_params(rng, 40)
    np.testing.assert_allclose(interpolate(grid, q), ref(q), rtol=1e-5)


def test_holes_reported_and_refused(tmp_path, wave):
    valid = np.ones(SHAPE, bool)
    valid[3, 0] = False  # hot star, log g = 0
    grid = make_grid(tmp_path, wave, multilinear, valid)
    q = np.array([[4900.0, 0.5, 0.0, 0.2], [4900.0, 1.5, 0.0, 0.2], [5000.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(complete_cells(grid, q), [False, True, True])
    with pytest.raises(GridHoleError, match="complete_cells"):
        interpolate(grid, q)
    out = interpolate(grid, q, on_hole="nan")
    assert np.isnan(out[0]).all() and np.isfinite(out[1:]).all()


def test_out_of_grid_names_axis_and_range(tmp_path, wave):
    grid = make_grid(tmp_path, wave, multilinear)
    with pytest.raises(OutOfGridError, match=r"logg = 3 is outside the grid range \[0, 2.5\]"):
        interpolate(grid, [[4000.0, 3.0, 0.0, 0.0]])
    with pytest.raises(OutOfGridError, match="teff"):
        complete_cells(grid, [[np.nan, 1.0, 0.0, 0.0]])


def test_spline_mode_exact_at_nodes_and_cubic_along_an_axis(tmp_path, wave):
    def cubic(row, w):
        t, g, m, a = row
        x = t / 1000
        return 10 + x**3 - 2 * x**2 + 0.5 * g + m + a + 0 * w

    grid = make_grid(tmp_path, wave, cubic)
    rng = np.random.default_rng(3)
    p = node_params()
    np.testing.assert_allclose(
        interpolate_spline(grid, p, rng), grid.flux.reshape(-1, len(wave)), rtol=1e-6
    )
    # the off-node parameter on teff only: whichever axis is drawn, nearest nodes elsewhere are
    # exact, and along teff a not-a-knot spline through 4 nodes reproduces a cubic exactly
    q = np.array([[4300.0, 1.0, 0.0, 0.4]] * 20)
    got = interpolate_spline(grid, q, rng)[:, 0]
    drawn_teff = np.isclose(got, cubic(q[0], wave[:1])[0], rtol=1e-5)
    assert drawn_teff.any() and not drawn_teff.all()  # random axis: teff drawn sometimes


def test_caller_params_are_not_modified(tmp_path, wave):
    grid = make_grid(tmp_path, wave, multilinear)
    q = np.array([[5000.0 + 1e-10, 2.5, 0.5, 0.4]])  # within the edge tolerance: clipped inside
    before = q.copy()
    interpolate(grid, q)
    np.testing.assert_array_equal(q, before)


def test_spline_mode_reports_holes(tmp_path, wave):
    valid = np.ones(SHAPE, bool)
    valid[3, 0] = False  # teff 5000, logg 0
    grid = make_grid(tmp_path, wave, multilinear, valid)
    q = np.array([[4990.0, 0.1, 0.0, 0.0]] * 30)  # nearest node (5000, 0) is missing
    rng = np.random.default_rng(5)
    assert not complete_cells(grid, q, mode="spline", rng=rng).any()
    with pytest.raises(GridHoleError):
        interpolate_spline(grid, q, np.random.default_rng(5))
    far = np.array([[4100.0, 2.0, 0.0, 0.0]] * 30)
    assert complete_cells(grid, far, mode="spline", rng=rng).all()
