"""The forward model is the observe step's, and its analytic Jacobian is its derivative."""

import numpy as np

from pfsdenoise.grid.interpolate import interpolate
from pfsdenoise.tempfit.forward import ForwardModel


def test_templates_are_the_simulators_noiseless_spectra(grid, observer):
    model = ForwardModel(grid, observer, ebv=0.0, rv_range=(-1500, 1500))
    stellar = np.array([[4300.0, 2.2, -1.3, 0.1], [5600.0, 4.6, -0.2, 0.3]])
    rv = np.array([-730.3, 211.7])
    sim = observer.noiseless(interpolate(grid, stellar), rv, np.zeros(2), np.full(2, 20.0))
    t = model(np.column_stack([stellar, rv]), gradient=False).value.numpy()
    ratio = sim / t
    # one constant per spectrum (magnitude scale), to float32 precision
    np.testing.assert_allclose(ratio / ratio.mean(axis=1, keepdims=True), 1.0, atol=2e-5)


def test_jacobian_matches_finite_differences_inside_a_cell(grid, observer):
    model = ForwardModel(grid, observer, ebv=0.03, rv_range=(-1500, 1500))
    p = np.array([[4420.0, 1.7, -1.6, 0.13, 50.6]])  # rv between two integer sample shifts
    jac = model(p).grad[0].numpy().astype(np.float64)
    steps = [5.0, 0.01, 0.01, 0.01, 0.2]
    for d, h in enumerate(steps):
        hi, lo = p.copy(), p.copy()
        hi[0, d] += h
        lo[0, d] -= h
        num = (model(hi, gradient=False).value - model(lo, gradient=False).value)[0].numpy()
        num = num.astype(np.float64) / (2 * h)
        scale = np.abs(num).max()
        assert np.abs(jac[d] - num).max() < 2e-3 * scale, f"parameter {d}"
