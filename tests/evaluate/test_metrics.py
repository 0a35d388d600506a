"""Per-spectrum metrics: the relative-error definition, masks, line windows, noise ratios."""

import numpy as np
import pytest

from pfsdenoise.evaluate.metrics import line_window_mask, mean_relative_error, spectrum_metrics

LINES = {"ca2": [8500.36, 8544.44, 8664.52]}


def _metrics(pred, noisy, truth, sigma, mask, wave, rv=None, min_truth=0.01):
    rv = np.zeros(len(truth)) if rv is None else rv
    return spectrum_metrics(
        pred, noisy, truth, sigma, mask, wave, rv, lines=LINES, line_half_width=3.0,
        min_truth=min_truth,
    )  # fmt: skip


def test_relative_error_mean_and_max_by_hand():
    wave = np.linspace(8490, 8510, 5)
    truth = np.array([[1.0, 2.0, 0.5, 1.0, 4.0]])
    pred = np.array([[1.1, 2.0, 0.4, 1.0, 3.0]])  # relative errors 0.1, 0, 0.2, 0, 0.25
    mask = np.array([[False, False, False, True, False]])
    sigma = np.full_like(truth, 0.1)
    m = _metrics(pred, truth, truth, sigma, mask, wave)
    assert m["rel_mean"][0] == pytest.approx((0.1 + 0 + 0.2 + 0.25) / 4)
    assert m["rel_max"][0] == pytest.approx(0.25)
    assert m["bias"][0] == pytest.approx((0.1 + 0 - 0.2 - 0.25) / 4)
    assert m["n_valid"][0] == 4
    assert m["noisy_rel_mean"][0] == 0.0


def test_pixels_below_min_truth_and_masked_rows_are_excluded():
    wave = np.linspace(8000, 8100, 4)
    truth = np.array([[0.001, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    pred = truth + 0.5
    mask = np.array([[False] * 4, [True] * 4])
    m = _metrics(pred, truth, truth, np.ones_like(truth), mask, wave)
    assert m["rel_mean"][0] == pytest.approx(0.5)  # the 0.001 pixel (error 500) is left out
    assert np.isnan(m["rel_mean"][1]) and m["n_valid"][1] == 0


def test_noisy_input_has_unit_residual_noise_and_ratio_one():
    rng = np.random.default_rng(3)
    wave = np.linspace(7100, 8850, 4096)
    truth = np.full((20, 4096), 1.0)
    sigma = np.full_like(truth, 0.05)
    noisy = truth + sigma * rng.standard_normal(truth.shape)
    m = _metrics(noisy, noisy, truth, sigma, np.zeros(truth.shape, bool), wave)
    np.testing.assert_allclose(m["resid_sigma"], 1.0, atol=0.05)
    np.testing.assert_allclose(m["ratio_mean"], 1.0)
    # mean |N(0, σ)| / 1 = σ √(2/π): the "≈ 0.8 / (S/N)" of SCIENCE.md §7
    np.testing.assert_allclose(m["noisy_rel_mean"], 0.05 * np.sqrt(2 / np.pi), rtol=0.05)


def test_line_windows_follow_radial_velocity():
    wave = np.linspace(8480, 8700, 2201)
    rv = np.array([0.0, 300.0])
    win = line_window_mask(wave, rv, [8500.36], 1.0)
    centre0 = wave[win[0]].mean()
    centre1 = wave[win[1]].mean()
    assert centre0 == pytest.approx(8500.36, abs=0.1)
    assert centre1 - centre0 == pytest.approx(8500.36 * 300 / 299792.458, abs=0.1)


def test_line_error_counts_only_window_pixels():
    wave = np.linspace(8400, 8700, 3001)
    truth = np.ones((1, wave.size))
    pred = truth.copy()
    pred[0, np.abs(wave - 8544.44) < 1.0] = 1.2  # error only inside a Ca II window
    m = _metrics(pred, truth, truth, np.ones_like(truth), np.zeros_like(truth, bool), wave)
    assert m["line_ca2_max"][0] == pytest.approx(0.2)
    assert 0 < m["line_ca2_mean"][0] < 0.2
    assert m["rel_mean"][0] < m["line_ca2_mean"][0]


def test_mean_relative_error_matches_spectrum_metrics():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.5, 1.5, (5, 100))
    pred = truth * (1 + rng.normal(0, 0.01, truth.shape))
    sigma = np.full_like(truth, 0.01)
    mask = rng.random(truth.shape) < 0.1
    m = _metrics(pred, truth, truth, sigma, mask, np.linspace(7100, 7200, 100))
    np.testing.assert_allclose(mean_relative_error(pred, truth, sigma, mask, 0.01), m["rel_mean"])


def test_shape_mismatch_is_an_error():
    a = np.ones((2, 10))
    with pytest.raises(ValueError, match="shapes differ"):
        _metrics(a, a, np.ones((2, 11)), a, a.astype(bool), np.arange(10.0))
