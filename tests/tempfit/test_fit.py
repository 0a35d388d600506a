"""Template fits recover the truth of simulated spectra; bad input and failed fits are flagged.

Tolerances: noiseless spectra (fitted with the σ the simulator gives them) must come back within
a hundredth of the RV's and a thousandth of the grid steps' Cramér–Rao σ at S/N 100 — i.e. to
the float32 precision of the templates; at S/N ≈ 100 every parameter must lie within 4 of its
own fitted σ, and those σ within 15 % of the Cramér–Rao bound.
"""

import numpy as np
import pytest
from tempfit_helpers import fit_settings, make_grid, observe

from pfsdenoise.grid.store import DamagedGridError, open_grid
from pfsdenoise.spectrum import SpectrumArrayError
from pfsdenoise.tempfit.columns import PARAMS
from pfsdenoise.tempfit.fit import TemplateFitter

STELLAR = np.array([[4300.0, 2.2, -1.3, 0.1], [5600.0, 4.6, -0.2, 0.3], [4850.0, 1.4, -1.8, 0.22]])
RV = np.array([-731.0, 212.5, 18.2])


@pytest.fixture(scope="module")
def bright(grid, observer):
    return observe(grid, observer, STELLAR, RV, mag=17.0, seed=1)


def _truth():
    return np.column_stack([STELLAR, RV])


def test_noiseless_spectra_are_recovered(fitter, bright):
    result = fitter.fit(bright.flux_true, bright.sigma, bright.mask)
    assert (result.status == "ok").all()
    crb = fitter.fisher_bound(_truth(), bright.flux_true, bright.sigma, bright.mask)
    err = np.abs(result.params - _truth())
    assert (err < 0.05 * crb).all(), err / crb
    assert np.all(result.chi2 < 1e-2 * result.dof)


def test_bright_spectra_within_their_errors(fitter, bright):
    assert np.median(bright.snr) > 50
    result = fitter.fit(bright.flux, bright.sigma, bright.mask)
    assert (result.status == "ok").all()
    err = np.sqrt(np.diagonal(result.covariance, axis1=1, axis2=2))
    pull = (result.params - _truth()) / err
    assert np.abs(pull).max() < 4, pull
    crb = fitter.fisher_bound(_truth(), bright.flux_true, bright.sigma, bright.mask)
    np.testing.assert_allclose(err, crb, rtol=0.15)
    np.testing.assert_allclose(result.chi2 / result.dof, 1.0, atol=0.1)
    # the model's propagated σ̂ is a small fraction of the noise (≈ sqrt(p / N))
    frac = np.nanmedian(result.model_sigma / bright.sigma)
    assert 0.01 < frac < 0.2


def test_rv_scatter_follows_the_cramer_rao_bound(grid, observer, fitter):
    """Many noise draws of one star at two S/N: scatter ≈ bound, and bound ∝ 1/(S/N)."""
    star = np.repeat(STELLAR[:1], 40, axis=0)
    scatter, bound, snr = [], [], []
    for mag in (20.0, 21.5):
        obs = observe(grid, observer, star, 55.0, mag=mag, seed=7)
        start = np.tile([[*STELLAR[0], 55.0]], (40, 1))
        result = fitter.fit(obs.flux, obs.sigma, obs.mask, start=start)
        assert result.ok.mean() > 0.95
        rv = result.params[result.ok, 4]
        scatter.append(np.std(rv - 55.0))
        bound.append(
            np.median(fitter.fisher_bound(start, obs.flux_true, obs.sigma, obs.mask)[:, 4])
        )
        snr.append(np.median(obs.snr))
    ratio = np.array(scatter) / np.array(bound)
    assert np.all((ratio > 0.7) & (ratio < 1.35)), ratio
    assert 5 < snr[1] < snr[0] < 40
    # the bound scales as 1/(S/N): both define the noise level
    np.testing.assert_allclose(bound[1] / bound[0], snr[0] / snr[1], rtol=0.15)


def test_blind_fit_finds_a_far_velocity(fitter, bright):
    result = fitter.fit(bright.flux[:1], bright.sigma[:1], bright.mask[:1])
    assert result.status[0] == "ok"
    assert abs(result.params[0, 4] - RV[0]) < 2.0


def test_non_convergence_is_flagged_never_reported(grid, observer, bright):
    impatient = TemplateFitter(grid, observer, fit_settings(optimizer__max_iter=1))
    far = np.array([[6000.0, 5.0, 0.0, 0.0, RV[0] + 30.0]])
    result = impatient.fit(bright.flux[:1], bright.sigma[:1], bright.mask[:1], start=far)
    assert result.status[0] == "not_converged"
    assert np.isnan(result.params).all() and np.isnan(result.model).all()
    assert np.isnan(result.covariance).all() and np.isnan(result.model_sigma).all()


def test_bad_spectra_are_recorded_skips_and_the_batch_goes_on(fitter, bright):
    flux, sigma, mask = (np.repeat(a[:1], 5, axis=0).copy() for a in (bright.flux, bright.sigma,
                                                                         bright.mask))  # fmt: skip
    mask[1] = True  # all masked
    sigma[2, 100] = 0.0  # σ ≤ 0 on a usable pixel
    mask[2, 100] = False
    flux[3, 200] = np.nan  # non-finite flux on a usable pixel
    mask[3, 200] = False
    start = np.tile(_truth()[:1], (5, 1))
    start[4, 0] = 9000.0  # outside the grid
    result = fitter.fit(flux, sigma, mask, start=start)
    assert list(result.status) == ["ok", "all_masked", "bad_sigma", "bad_flux", "outside_grid"]
    assert np.isnan(result.params[1:]).all()


def test_wrong_shapes_raise(fitter, bright):
    with pytest.raises(SpectrumArrayError, match="4096"):
        fitter.fit(bright.flux[:, :100], bright.sigma[:, :100], bright.mask[:, :100])


def test_start_in_a_cell_with_a_missing_node_is_flagged(tmp_path, observer, bright):

    holey = make_grid(tmp_path / "grid", missing=(2, 2, 2, 1))
    fitter = TemplateFitter(holey, observer, fit_settings())
    start = np.array([[5900.0, 4.9, -0.1, 0.35, 0.0]])
    result = fitter.fit(bright.flux[:1], bright.sigma[:1], bright.mask[:1], start=start)
    assert result.status[0] == "invalid_start"
    assert len(PARAMS) == 5


def test_a_star_outside_the_grid_ends_on_its_edge_flagged(tmp_path, observer, bright):
    from tempfit_helpers import AXES

    hot = make_grid(tmp_path / "grid", axes={**AXES, "teff": [5000, 6000]})
    fitter = TemplateFitter(hot, observer, fit_settings())
    result = fitter.fit(bright.flux[:1], bright.sigma[:1], bright.mask[:1])  # Teff 4300 K
    assert result.status[0] == "ok" and result.at_bound[0]
    assert result.params[0, 0] == 5000.0
    assert not fitter.fit(bright.flux[1:2], bright.sigma[1:2], bright.mask[1:2]).at_bound[0]


def test_a_damaged_grid_node_is_refused_before_fitting(tmp_path, observer):
    make_grid(tmp_path / "g")
    flux = np.load(tmp_path / "g" / "flux.npy", mmap_mode="r+")
    flux[1, 2, 0, 1, 100] *= 1.5  # one pixel of one node changed after the grid was written
    flux.flush()
    del flux
    with pytest.raises(DamagedGridError, match=r"flux\.npy: damaged: node \(1, 2, 0, 1\)"):
        TemplateFitter(open_grid(tmp_path / "g"), observer, fit_settings())
