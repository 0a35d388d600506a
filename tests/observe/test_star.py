"""Doppler shift, extinction and magnitude scaling of the model star."""

from __future__ import annotations

import numpy as np
import pytest
import speclite.filters

from pfsdenoise.constants import C_KMS
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.observe.star import FilterCoverageError, MagnitudeScaler, doppler_shift


@pytest.fixture(scope="module")
def observer(noise_table, config, wave):
    return Observer(wave, np.log(wave[1] / wave[0]), str(noise_table), config["observe"])


def _xcorr_velocity(a: np.ndarray, b: np.ndarray, log_step_pix: float) -> float:
    """Velocity of b relative to a from the peak of their cross-correlation (parabolic peak)."""
    a = a - a.mean()
    b = b - b.mean()
    cc = np.fft.irfft(np.fft.rfft(b) * np.conj(np.fft.rfft(a)), n=a.size)
    cc = np.fft.fftshift(cc)
    k = int(np.argmax(cc))
    y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
    lag = k - a.size // 2 + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return (np.exp(lag * log_step_pix) - 1) * C_KMS


def test_doppler_shift_recovered_by_cross_correlation(observer, make_spectrum, wave):
    """Noiseless: shift on the model grid, observe on 4096 pixels, rebin the pixels to a
    log-uniform grid, cross-correlate with the unshifted observation: error < 1 km/s."""
    model = make_spectrum(5000.0, 11)[None, :]
    rvs = np.array([0.0, 37.3, -251.9, 812.4])
    flux = observer.noiseless(np.repeat(model, 4, 0), rvs, np.zeros(4), np.full(4, 20.0))
    pix = observer.pix_aa
    step = np.log(pix[-1] / pix[0]) / (pix.size - 1)
    logw = pix[0] * np.exp(step * np.arange(pix.size))
    rebinned = np.array([np.interp(logw, pix, f) for f in flux])
    for rv, spec in zip(rvs[1:], rebinned[1:], strict=True):
        assert _xcorr_velocity(rebinned[0], spec, step) == pytest.approx(rv, abs=1.0)


def test_doppler_shift_is_exact_for_integer_sample_shifts(wave):
    log_step = np.log(wave[1] / wave[0])
    flux = np.random.default_rng(0).normal(size=(1, wave.size))
    rv = np.expm1(7 * log_step) * C_KMS
    out = doppler_shift(flux, np.array([rv]), log_step)
    assert np.allclose(out[0, 7:], flux[0, :-7], atol=1e-9)


def test_magnitude_scaling_matches_speclite(observer, make_spectrum, wave):
    model = make_spectrum(4500.0, 5)[None, :]
    flux = observer.noiseless(model, np.zeros(1), np.zeros(1), np.array([21.3]))
    # the same scale applied on the model grid, measured with speclite directly
    scale = flux[0, 2000] / (observer.matrix @ model[0])[2000] * 1e-17
    filt = speclite.filters.load_filters("hsc2017-i")
    padded, padded_wave = filt.pad_spectrum(model[0] * scale, wave, method="zero")
    mag = filt.get_ab_magnitudes(padded, padded_wave)["hsc2017-i"][0]
    assert mag == pytest.approx(21.3, abs=2e-3)


def test_extinction_dims_the_blue_more(observer, make_spectrum):
    model = np.repeat(make_spectrum(6000.0, 2)[None, :], 2, 0)
    flux = observer.noiseless(model, np.zeros(2), np.array([0.0, 0.1]), np.full(2, 20.0))
    ratio = flux[1] / flux[0]
    # same i-band magnitude: the reddened star is brighter in the red, fainter in the blue
    assert ratio[0] < 1.0 < ratio[-1]


def test_filter_errors(wave):
    with pytest.raises(FilterCoverageError, match=r"hsc2017-r.*grid covers"):
        MagnitudeScaler(wave, "hsc2017-r", "ccm89", 3.1)
    with pytest.raises(FilterCoverageError, match="nosuch"):
        MagnitudeScaler(wave, "nosuch-x", "ccm89", 3.1)
