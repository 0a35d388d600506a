"""Classical baselines: each removes noise from synthetic stars; PCA-MMSE limits behave."""

import numpy as np
import pytest
from evaluate_helpers import make_batch

from pfsdenoise.evaluate.baselines import baseline_function
from pfsdenoise.evaluate.baselines.common import estimate_snr
from pfsdenoise.evaluate.baselines.pca import PCABasis, fit_pca, load_basis, pca_mmse, save_basis
from pfsdenoise.evaluate.baselines.smoothing import identity, ivar_gauss, savgol
from pfsdenoise.evaluate.baselines.wavelet import wavelet
from pfsdenoise.evaluate.metrics import mean_relative_error


@pytest.fixture(scope="module")
def data():
    _, train = make_batch(150, seed=11)
    _, test = make_batch(30, seed=12)
    return train, test


def _err(pred, s):
    return np.nanmean(mean_relative_error(pred, s["flux_true"], s["sigma"], s["mask"], 0.01))


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [(savgol, {"window": 9, "order": 2}), (ivar_gauss, {"width": 1.5}), (wavelet, {"factor": 0.5})],
)
def test_smoothers_reduce_error(data, func, kwargs):
    _, s = data
    noisy = _err(identity(s["flux"], s["sigma"], s["mask"]), s)
    assert _err(func(s["flux"], s["sigma"], s["mask"], **kwargs), s) < 0.8 * noisy


def test_identity_is_a_copy(data):
    _, s = data
    out = identity(s["flux"], s["sigma"], s["mask"])
    np.testing.assert_array_equal(out, s["flux"])
    assert out is not s["flux"]


def test_ivar_gauss_ignores_masked_outliers():
    flux = np.ones((1, 200))
    flux[0, 100] = 1e6
    mask = np.zeros((1, 200), bool)
    mask[0, 100] = True
    out = ivar_gauss(flux, np.full_like(flux, 0.1), mask, width=2.0)
    np.testing.assert_allclose(out, 1.0)


def test_savgol_rejects_bad_window():
    with pytest.raises(ValueError, match="odd"):
        savgol(np.ones((1, 50)), np.ones((1, 50)), np.zeros((1, 50), bool), window=8, order=2)


def test_pca_mmse_beats_smoothing_and_roundtrips(data, tmp_path):
    train, s = data
    basis = fit_pca([train["flux_true"][:70], train["flux_true"][70:]], 40)
    save_basis(tmp_path / "basis.npz", basis)
    basis = load_basis(tmp_path / "basis.npz")
    pca = _err(pca_mmse(s["flux"], s["sigma"], s["mask"], basis=basis, n_components=40), s)
    gauss = _err(ivar_gauss(s["flux"], s["sigma"], s["mask"], width=1.5), s)
    assert pca < gauss


def test_pca_mmse_limits():
    rng = np.random.default_rng(0)
    comps = np.linalg.qr(rng.normal(size=(50, 3)))[0].T
    basis = PCABasis(np.full(50, 2.0), comps, np.array([4.0, 1.0, 0.25]), 100)
    truth = basis.mean + np.array([[1.0, -0.5, 0.2]]) @ comps
    tiny = np.full_like(truth, 1e-6)
    out = pca_mmse(truth, tiny, np.zeros_like(truth, bool), basis=basis, n_components=3)
    np.testing.assert_allclose(out, truth, atol=1e-6)  # no noise: the projection is exact
    masked = pca_mmse(truth, tiny, np.ones_like(truth, bool), basis=basis, n_components=3)
    np.testing.assert_allclose(masked, basis.mean[None])  # no data: the prior mean


def test_pca_needs_matching_pixels_and_basis():
    basis = PCABasis(np.zeros(10), np.eye(10)[:2], np.ones(2), 5)
    with pytest.raises(ValueError, match="pixels"):
        pca_mmse(
            np.ones((1, 11)), np.ones((1, 11)), np.zeros((1, 11), bool), basis=basis, n_components=2
        )
    with pytest.raises(ValueError, match="basis"):
        baseline_function("pca")


def test_fit_pca_gram_and_covariance_paths_agree():
    x = np.random.default_rng(1).normal(size=(300, 40)) @ np.diag(np.linspace(3, 0.1, 40))
    small = fit_pca([x[:30]], 5)  # 30 spectra < 40 pixels: Gram matrix
    big = fit_pca([x[:30], x[30:]], 5)  # more spectra than pixels: covariance
    assert small.n_train == 30 and big.n_train == 300
    np.testing.assert_allclose(np.linalg.norm(big.components, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(small.components, axis=1), 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        fit_pca([np.full((3, 40), np.nan)], 2)


def test_observable_snr_tracks_true_snr(data):
    _, s = data
    params, _ = make_batch(30, seed=12)
    est = estimate_snr(s["flux"], s["sigma"], s["mask"])
    np.testing.assert_allclose(est, params["snr"], rtol=0.25)
