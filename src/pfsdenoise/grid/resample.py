"""Flux-conserving resampling of a model spectrum onto a log-uniform grid, and its sampling.

Downloaded grids come on their own wavelengths (irregular for BT-Settl, R = 500 000 for
PHOENIX, air for some BOSZ files); the grid format wants one log-uniform vacuum grid. Each
target pixel gets the mean of the source's piecewise-linear flux over the pixel's extent
(edges at the geometric midpoints), so the flux integrated over any run of target pixels equals
the source's: lines keep their equivalent widths however coarse the target.
"""

from __future__ import annotations

import numpy as np


def pixel_edges(target: np.ndarray) -> np.ndarray:
    """Edges of log-uniform target pixels: geometric midpoints, half a step beyond the ends."""
    target = np.asarray(target, dtype=np.float64)
    half = 0.5 * np.log(target[1] / target[0])
    inner = np.sqrt(target[1:] * target[:-1])
    return np.concatenate([[target[0] * np.exp(-half)], inner, [target[-1] * np.exp(half)]])


def sampling_resolution(wave: np.ndarray) -> np.ndarray:
    """Resolving power that each interval of a sampling supports: λ / (2 Δλ) (two samples per
    resolution element, the convention of a log-uniform grid with d ln λ = 1/(2R))."""
    wave = np.asarray(wave, dtype=np.float64)
    return 0.5 * (wave[1:] + wave[:-1]) / (2 * np.diff(wave))


def _integral(wave: np.ndarray, flux: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∫ from wave[0] to x of the piecewise-linear interpolant of (wave, flux)."""
    width = np.diff(wave)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (flux[1:] + flux[:-1]) * width)])
    i = np.clip(np.searchsorted(wave, x, side="right") - 1, 0, len(wave) - 2)
    dx = x - wave[i]
    slope = (flux[i + 1] - flux[i]) / width[i]
    return cumulative[i] + dx * (flux[i] + 0.5 * slope * dx)


def rebin(wave: np.ndarray, flux: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean flux of (wave, flux) over each pixel of the log-uniform ``target``.

    ``wave`` must be strictly increasing and cover the target's outer edges (see
    :func:`pixel_edges`); the caller checks that and names the file.
    """
    wave = np.asarray(wave, dtype=np.float64)
    flux = np.asarray(flux, dtype=np.float64)
    edges = pixel_edges(target)
    return np.diff(_integral(wave, flux, edges)) / np.diff(edges)
