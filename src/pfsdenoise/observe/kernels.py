"""Compiled single passes of the observe step (numba), where numpy would make one pass per
operation over a batch that does not fit the cache.

The loops do, element by element and in the same order, the float32 operations the numpy
expressions they replace did, with no fast-math: the bits do not depend on the CPU (no fused
multiply-adds, no reassociation) and equal those of the numpy version. Compiled once per
machine (``cache=True``: the machine code is kept next to this file, or in numba's user cache
where that is not writable).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def etc_sigma_and_mask(
    flux_true: np.ndarray,
    conv: np.ndarray,
    background: np.ndarray,
    n_exp: np.ndarray,
    background_median: np.ndarray,
    max_background_ratio: np.float32,
    sigma: np.ndarray,
    mask: np.ndarray,
) -> None:
    """ETC σ and the mask of a batch, written into ``sigma`` and ``mask`` (n, n_pix).

    σ = √(N (f·conv + background)) / (N conv) per pixel (0 where that is not finite); a pixel is
    masked where σ is undefined, where it gets no object counts (conv ≤ 0) or where its
    background variance exceeds ``max_background_ratio`` × the spectrum's median
    (``background_median``). Arrays float32 except ``mask`` (bool); ``n_exp`` (n,).
    """
    n, m = flux_true.shape
    zero = np.float32(0.0)
    for i in range(n):
        ne = n_exp[i]
        median = background_median[i]
        for k in range(m):  # no branches, so that the loop runs in SIMD lanes
            c = conv[i, k]
            b = background[i, k]
            s = np.sqrt((flux_true[i, k] * c + b) * ne) / (ne * c)
            finite = s - s == zero  # False for ±inf and NaN
            sigma[i, k] = s if finite else zero
            mask[i, k] = (not finite) | (c <= zero) | (b / median > max_background_ratio)


@numba.njit(cache=True, nogil=True)
def doppler_shift_rows(flux: np.ndarray, whole: np.ndarray, frac: np.ndarray, out: np.ndarray):
    """Shift each row of ``flux`` by ``whole[i] + frac[i]`` samples into ``out``:
    ``out[k] = (1 − φ) f[k − m] + φ f[k − m − 1]`` (m whole, φ the fraction, in the dtype of
    ``flux``), edge samples repeated (:func:`pfsdenoise.observe.star.doppler_shift`)."""
    n_spec, n = flux.shape
    one = flux.dtype.type(1.0)
    for i in range(n_spec):
        m = whole[i]
        phi = frac[i]
        keep = one - phi
        lo = max(m + 1, 0)
        hi = min(n + m, n)
        row = out[i]
        row[:lo] = flux[i, 0]
        row[hi:] = flux[i, n - 1]
        # 0-based loops over slices: the indices are provably ≥ 0, so the loop vectorizes
        dst, near, far = row[lo:hi], flux[i, lo - m : hi - m], flux[i, lo - m - 1 : hi - m - 1]
        for k in range(hi - lo):
            dst[k] = near[k] * keep + far[k] * phi
