"""Helpers shared by the classical baselines: observable S/N, inverse-variance weights, gap filling.

Baselines see only what a real observation gives: the noisy flux, its 1σ error and the mask
(True = pixel unusable). They never see the noiseless flux or the simulated ``snr`` column.
"""

from __future__ import annotations

import numpy as np


def as_inputs(
    flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert the (n, n_pix) inputs of a denoiser; 1-D arrays become one row."""
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    mask = np.atleast_2d(np.asarray(mask, dtype=bool))
    if not (flux.shape == sigma.shape == mask.shape):
        raise ValueError(
            f"flux {flux.shape}, sigma {sigma.shape} and mask {mask.shape} must have one shape "
            "(n spectra, n pixels)"
        )
    return flux, sigma, mask


def usable(flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pixels a baseline may use: unmasked, finite, with a positive finite σ."""
    return ~mask & np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)


def inverse_variance(flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weights 1/σ² on usable pixels, 0 elsewhere."""
    good = usable(flux, sigma, mask)
    w = np.zeros_like(flux, dtype=np.float64)
    w[good] = 1.0 / np.square(sigma[good])
    return w


def estimate_snr(flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Observable S/N per spectrum: median over usable pixels of flux/σ (NaN if none usable).

    The same definition as the shards' ``snr`` column (median of F/σ over the arm) but with the
    noisy flux, so that a baseline can pick its parameters without knowing the truth.
    """
    flux, sigma, mask = as_inputs(flux, sigma, mask)
    ratio = np.where(usable(flux, sigma, mask), flux / np.where(sigma > 0, sigma, 1.0), np.nan)
    with np.errstate(all="ignore"):
        return np.nanmedian(ratio, axis=1) if ratio.shape[1] else np.full(len(ratio), np.nan)


def fill_unusable(flux: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Replace unusable pixels by linear interpolation between usable neighbours (row by row).

    Filters that do not take weights (Savitzky–Golay, wavelets) need a gap-free input; rows
    without any usable pixel become zeros.
    """
    out = np.array(flux, dtype=np.float64, copy=True)
    x = np.arange(out.shape[1])
    for i in np.flatnonzero(~good.all(axis=1)):
        g = good[i]
        out[i] = np.interp(x, x[g], out[i, g]) if g.any() else 0.0
    return out
