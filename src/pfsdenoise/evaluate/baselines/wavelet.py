"""Wavelet shrinkage with a per-pixel, noise-aware threshold (PyWavelets)."""

from __future__ import annotations

import numpy as np
import pywt

from pfsdenoise.evaluate.baselines.common import as_inputs, fill_unusable, usable


def _coefficient_sigma(var: np.ndarray, n_coef: int) -> np.ndarray:
    """Noise σ of the detail coefficients of one level, from the pixel variances they cover.

    An orthonormal wavelet filter has unit energy, so a coefficient's noise variance is the
    filter-weighted mean of the pixel variances under its support; a block mean over the
    2^level pixels per coefficient approximates it and follows sky lines and the blaze.
    """
    n_pix = var.shape[1]
    edges = np.linspace(0, n_pix, n_coef + 1).astype(int)
    csum = np.concatenate([np.zeros((len(var), 1)), np.cumsum(var, axis=1)], axis=1)
    counts = np.maximum(np.diff(edges), 1)
    return np.sqrt((csum[:, edges[1:]] - csum[:, edges[:-1]]) / counts)


def wavelet(
    flux: np.ndarray,
    sigma: np.ndarray,
    mask: np.ndarray,
    *,
    factor: float,
    wavelet_name: str = "sym8",
    level: int | None = None,
) -> np.ndarray:
    """Soft-threshold the detail coefficients at ``factor`` × σ_coef × √(2 ln n) (VisuShrink,
    Donoho & Johnstone 1994, scaled by a factor tuned on validation data).

    σ_coef comes from the known per-pixel σ (masked pixels get the largest σ of their spectrum),
    not from the MAD of the finest level, because PFS noise varies by orders of magnitude
    between sky-line and continuum pixels.
    """
    flux, sigma, mask = as_inputs(flux, sigma, mask)
    good = usable(flux, sigma, mask)
    filled = fill_unusable(flux, good)
    var = np.where(good, np.square(np.where(good, sigma, 0.0)), np.nan)
    worst = np.nanmax(np.where(good.any(axis=1, keepdims=True), var, 1.0), axis=1, keepdims=True)
    var = np.where(good, var, worst)
    n_pix = flux.shape[1]
    coeffs = pywt.wavedec(filled, wavelet_name, level=level, axis=1, mode="symmetric")
    universal = np.sqrt(2.0 * np.log(n_pix))
    shrunk = [coeffs[0]]
    for detail in coeffs[1:]:
        thr = factor * universal * _coefficient_sigma(var, detail.shape[1])
        shrunk.append(np.sign(detail) * np.maximum(np.abs(detail) - thr, 0.0))
    return pywt.waverec(shrunk, wavelet_name, axis=1, mode="symmetric")[:, :n_pix]
