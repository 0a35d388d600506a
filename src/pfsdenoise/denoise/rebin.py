"""Flux-conserving rebinning between two pixel grids (pixel edges halfway between centres).

Each output pixel is the overlap-weighted mean of the input pixels it covers; variances add with
squared weights; pixels that are not ``good`` are left out, not propagated.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MIN_COVERAGE = 0.5
"""An output pixel whose width is less than this fraction covered by good input pixels is
masked (choice: a majority of the pixel must be measured)."""


def pixel_edges(wave: np.ndarray) -> np.ndarray:
    """Pixel edges from pixel centres (midpoints; outer edges extrapolated by half a pixel)."""
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[wave[0] - (mid[0] - wave[0])], mid, [wave[-1] + (wave[-1] - mid[-1])]])


def rebin_matrix(wave_in: np.ndarray, wave_out: np.ndarray) -> sp.csr_matrix:
    """Sparse ``(n_out, n_in)`` matrix of overlap fractions: ``W @ f`` is the flux-conserving
    rebinning of a flux density ``f`` sampled at pixel centres ``wave_in`` onto ``wave_out``.

    Row sums are the covered fraction of each output pixel (1 inside the input range).
    """
    e_in, e_out = pixel_edges(wave_in), pixel_edges(wave_out)
    lo, hi = max(e_in[0], e_out[0]), min(e_in[-1], e_out[-1])
    cuts = np.unique(np.concatenate([e_in, e_out]))
    cuts = cuts[(cuts >= lo) & (cuts <= hi)]
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    # Two edges one float apart (grids that nearly share an edge) leave a sliver whose midpoint
    # rounds onto an edge and would be placed in no pixel; its width is negligible: dropped.
    sliver = (mid <= cuts[:-1]) | (mid >= cuts[1:])
    cuts, mid = cuts[np.concatenate([[True], ~sliver])], mid[~sliver]
    i = np.searchsorted(e_in, mid) - 1
    j = np.searchsorted(e_out, mid) - 1
    weight = np.diff(cuts) / np.diff(e_out)[j]
    return sp.csr_matrix((weight, (j, i)), shape=(wave_out.size, wave_in.size))


def rebin(
    matrix: sp.csr_matrix, flux: np.ndarray, sigma: np.ndarray, good: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebin ``(n, n_in)`` flux and σ with ``matrix`` using only ``good`` pixels.

    Returns flux, σ and a mask (True where less than :data:`MIN_COVERAGE` is covered).
    """
    g = good.astype(np.float64)
    f = np.where(good, flux, 0.0)
    v = np.where(good, sigma, 0.0) ** 2
    cover = (matrix @ g.T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out_f = (matrix @ (f * g).T).T / cover
        out_s = np.sqrt((matrix.multiply(matrix) @ (v * g).T).T) / cover
    bad = ~(cover >= MIN_COVERAGE)
    return np.where(bad, np.nan, out_f), np.where(bad, np.nan, out_s), bad


def rebin_mean(matrix: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Overlap-weighted mean of ``(n, n_in)`` values per output pixel (NaN where uncovered).

    For quantities that do not average down, such as the σ of a denoised spectrum, whose errors
    are correlated over many pixels (the fully correlated case: an upper bound).
    """
    cover = np.asarray(matrix.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (matrix @ np.nan_to_num(values).T).T / cover
    return np.where(cover >= MIN_COVERAGE, out, np.nan)
