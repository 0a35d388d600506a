"""Comparison of the synthetic model with the Kurucz Sun after the PFS MR line spread function.

The LSF here is a plain Gaussian of FWHM 1.43 A (SCIENCE.md section 3), a stand-in for the
observe stage's real LSF, good enough for a calibration check. The Kurucz reference is itself
at R = 5000, so the model gets that resolution too before both get the MR LSF.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from pfsdenoise.grid.linedata import load_sun_reference
from pfsdenoise.grid.store import log_uniform_wave
from pfsdenoise.grid.synthetic import ModelParameters, synthetic_spectrum

MR_FWHM = 1.43  # [A], PFS MR red arm (SCIENCE.md section 3)
SUN_RESOLUTION = 5000.0  # RESOLUTI keyword of sun_mod_001.fits
MR_RANGE = (7100.0, 8850.0)
SUN_PARAMS = (5777.0, 4.44, 0.0, 0.0)


def gaussian_lsf(wave: np.ndarray, flux: np.ndarray, fwhm: float) -> np.ndarray:
    """Convolve a spectrum on a log-uniform grid with a Gaussian of FWHM ``fwhm`` [A] (taken at
    the middle of the range; constant in velocity across it)."""
    log_step = np.log(wave[1] / wave[0])
    sigma_pix = fwhm / (2 * np.sqrt(2 * np.log(2))) / (np.median(wave) * log_step)
    return gaussian_filter1d(np.asarray(flux, dtype=np.float64), sigma_pix, mode="nearest")


def compare_with_sun(
    params: ModelParameters | None = None, log_step: float = 1e-5
) -> tuple[float, float]:
    """Pearson r and rms of (model - Sun), both median-normalized over 710-885 nm after the LSF."""
    sun_wave, sun_flux, _ = load_sun_reference()
    wave = log_uniform_wave(6900.0, 9000.0, log_step)
    flux, _ = synthetic_spectrum(wave, *SUN_PARAMS, params)
    model_fwhm = np.hypot(MR_FWHM, np.median(wave) / SUN_RESOLUTION)
    model = gaussian_lsf(wave, flux, model_fwhm)
    sun = gaussian_lsf(sun_wave, sun_flux, MR_FWHM)  # the Sun file is log-uniform too
    inside = (sun_wave >= MR_RANGE[0]) & (sun_wave <= MR_RANGE[1])
    m = np.interp(sun_wave[inside], wave, model)
    s = sun[inside]
    m, s = m / np.median(m), s / np.median(s)
    return float(np.corrcoef(m, s)[0, 1]), float(np.sqrt(np.mean((m - s) ** 2)))
