"""Local smoothing baselines: identity, Savitzky–Golay, inverse-variance-weighted Gaussian."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from pfsdenoise.evaluate.baselines.common import as_inputs, fill_unusable, inverse_variance, usable


def identity(flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The noisy input itself: the reference every denoiser must beat."""
    flux, _, _ = as_inputs(flux, sigma, mask)
    return flux.copy()


def savgol(
    flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray, *, window: int, order: int
) -> np.ndarray:
    """Savitzky–Golay filter (least-squares polynomial of ``order`` over ``window`` pixels).

    Unusable pixels are bridged by linear interpolation first; the filter itself is unweighted,
    as in its textbook form.
    """
    flux, sigma, mask = as_inputs(flux, sigma, mask)
    if window % 2 == 0 or window <= order:
        raise ValueError(
            f"savgol window must be odd and > order; got window={window}, order={order}"
        )
    filled = fill_unusable(flux, usable(flux, sigma, mask))
    return savgol_filter(filled, window, order, axis=1, mode="interp")


def ivar_gauss(
    flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray, *, width: float
) -> np.ndarray:
    """Inverse-variance-weighted Gaussian smoothing with a kernel σ of ``width`` pixels.

    x̂ = G * (w y) / G * w with w = 1/σ² (0 on unusable pixels), so sky-line pixels with a large σ
    barely count and masked pixels are filled from their neighbours.
    """
    flux, sigma, mask = as_inputs(flux, sigma, mask)
    w = inverse_variance(flux, sigma, mask)
    wy = np.where(w > 0, flux, 0.0) * w
    num = gaussian_filter1d(wy, width, axis=1, mode="nearest", truncate=4.0)
    den = gaussian_filter1d(w, width, axis=1, mode="nearest", truncate=4.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den > 0, out, flux)
