"""Spectrum helpers shared by the simulator, training and denoising: one definition each.

- :func:`noisy_realization`: one Gaussian noise draw from a noiseless spectrum and its σ;
- :func:`draw_distortions`: smooth random flux-calibration curves (modes and weights:
  :func:`distortion_basis`, :func:`distortion_coefficients`, shared with the torch augmentation);
- :func:`masked_median`: the per-spectrum median normalization (and the S/N definition);
- :func:`prepare_inputs`: model inputs from observed arrays (masked pixels filled, σ clipped);
- :func:`unusable_reason`: why pixels cannot be used, for error messages.

This module imports numpy (and threadpoolctl, :mod:`pfsdenoise.blas`) only, so training and the
user-facing denoiser do not load the instrument simulator (extinction laws, filter curves) to
use them.
"""

from __future__ import annotations

import numpy as np

from pfsdenoise.blas import one_thread

SIGMA_CLIP = 10.0
"""σ given to masked pixels and the largest σ passed to a model (normalized units): a pixel with
σ of ten times the median flux carries no information."""


class SpectrumArrayError(ValueError):
    """Arrays that do not form spectra (shapes that differ, wrong dimensions)."""


def noisy_realization(
    flux_true: np.ndarray,
    sigma: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``flux_true + sigma · N(0, 1)`` per pixel (Gaussian limit of photon and read noise),
    float32, into ``out`` (C-contiguous) when given.

    Used both by the simulator and by training augmentation (a fresh draw every epoch).
    """
    if out is None:
        noise = rng.standard_normal(np.shape(flux_true), dtype=np.float32)
    else:
        noise = rng.standard_normal(out=out, dtype=np.float32)  # the same numbers, in place
    return add_noise(flux_true, sigma, noise)


def add_noise(flux_true: np.ndarray, sigma: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``flux_true + sigma · noise`` for standard-normal float32 ``noise`` (overwritten: the
    result is returned in it). For draws made for a larger batch than the rows used, as a
    data-parallel rank does with its slice of a batch."""
    noise *= np.asarray(sigma, dtype=np.float32)
    noise += np.asarray(flux_true, dtype=np.float32)
    return noise


def distortion_basis(wave: np.ndarray, scale: float) -> np.ndarray:
    """The cosine and sine modes of the calibration curves on ``wave``: (2 n_modes, wave.size).

    Rows ``cos(π k x)`` then ``sin(π k x)`` for k = 1 … n_modes, x from 0 to 1 over the arm, with
    ``n_modes = ceil(span / scale)``. A curve is a random combination of the rows
    (:func:`distortion_coefficients`); the numpy and torch augmentation share this table.
    """
    wave = np.asarray(wave, dtype=np.float64)
    if scale <= 0:
        raise ValueError(f"calibration distortion needs scale > 0, got {scale}")
    span = wave[-1] - wave[0]
    x = (wave - wave[0]) / span
    k = np.arange(1, max(1, int(np.ceil(span / scale))) + 1)
    arg = np.pi * k[:, None] * x[None, :]
    return np.concatenate([np.cos(arg), np.sin(arg)])


def distortion_coefficients(n: int, n_modes: int, rng: np.random.Generator) -> np.ndarray:
    """Random weights (n, 2 n_modes) of the rows of :func:`distortion_basis`.

    ``sum_k c_k cos(π k x + φ_k)`` with c_k ~ N(0, 1) / k (the largest scales dominate) and
    φ_k uniform, written as ``c_k cos φ_k cos(π k x) − c_k sin φ_k sin(π k x)``.
    """
    k = np.arange(1, n_modes + 1)
    coeff = rng.standard_normal((n, n_modes)) / k
    phase = rng.uniform(0, 2 * np.pi, size=(n, n_modes))
    return np.concatenate([coeff * np.cos(phase), -coeff * np.sin(phase)], axis=1)


def draw_distortions(
    wave: np.ndarray,
    n: int,
    rng: np.random.Generator,
    amplitude: float,
    scale: float,
) -> np.ndarray:
    """``n`` smooth multiplicative flux-calibration curves (n, wave.size), float32, rms = amplitude.

    Pál & Dobos (2024) trained with imperfect flux calibration; the authors' code drew a smooth
    wavelength-dependent factor per spectrum. A curve here is a sum of random cosine modes
    ``sum_k c_k cos(π k x + φ_k)`` over the arm (x from 0 to 1) with weights 1/k, whose shortest
    scale is ``scale`` (:func:`distortion_basis`, :func:`distortion_coefficients`), scaled to
    rms ``amplitude`` over the pixels (:func:`normalize_distortions`).

    Parameters
    ----------
    wave
        Pixel wavelengths [Å].
    amplitude
        rms of the fractional distortion (0.01 = 1 %); 0 gives exact ones.
    scale
        Shortest wavelength scale of the variations [Å]; larger is smoother.
    """
    if amplitude < 0 or scale <= 0:
        raise ValueError(
            f"calibration distortion needs amplitude >= 0 and scale > 0, got {amplitude}, {scale}"
        )
    if amplitude == 0:
        return np.ones((n, np.size(wave)), dtype=np.float32)
    basis = distortion_basis(wave, scale)
    coefficients = distortion_coefficients(n, basis.shape[0] // 2, rng)
    with one_thread():
        curves = coefficients @ basis
    return normalize_distortions(curves, amplitude).astype(np.float32)


def normalize_distortions(curves, amplitude: float):
    """``1 + amplitude · curve / rms(curve)`` per row (numpy or torch arrays alike)."""
    rms = (curves**2).mean(axis=1, keepdims=True) ** 0.5
    rms[rms == 0] = 1.0
    return 1.0 + amplitude * curves / rms


def masked_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median of each row over its ``valid`` entries (NaN for a row without any).

    Vectorized and equal to ``numpy.median`` of each row's valid values: invalid entries become
    +∞, one sort per row puts a row's ``c`` valid values first, and the median is its middle
    value (c odd) or the mean of its two middle values (c even), as numpy computes it; a row
    with NaN among its valid values gives NaN, as numpy does (the sort puts NaN last, after
    +∞, so the last column tells). numpy's vectorized sort is faster here than its partition.
    """
    values = np.asarray(values)
    valid = np.asarray(valid, dtype=bool)
    if values.ndim != 2 or values.shape != valid.shape:
        raise SpectrumArrayError(f"values {values.shape} and valid {valid.shape}: expected (n, m)")
    dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    if values.shape[1] == 0:
        return np.full(len(values), np.nan, dtype=dtype)
    everywhere = bool(valid.all())
    block = values.astype(dtype) if everywhere else np.where(valid, values, dtype.type(np.inf))
    block.sort(axis=1)
    has_nan = np.isnan(block[:, -1])
    count = np.count_nonzero(valid, axis=1)
    rows = np.arange(len(block))
    lower = block[rows, np.maximum(count - 1, 0) // 2]
    upper = block[rows, count // 2]
    out = np.where(count % 2 == 0, (lower + upper) / 2, lower).astype(dtype)
    out[(count == 0) | has_nan] = np.nan
    return out


def unusable_reason(flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> str:
    """Why pixels of one spectrum cannot be used, as counts per cause ("σ = 0 at 4096 of
    4096 pixels"), for messages that name the cause instead of its consequence (a NaN median)."""
    flux, sigma, mask = (np.asarray(a) for a in (flux, sigma, mask))
    n = flux.size
    with np.errstate(invalid="ignore"):
        causes = {
            "masked": mask.astype(bool),
            "flux NaN or infinite": ~np.isfinite(flux),
            "σ NaN or infinite": ~np.isfinite(sigma),
            "σ = 0": sigma == 0,
            "σ < 0": sigma < 0,
        }
    parts = [
        f"{name} at {int(hit.sum())} of {n} pixels" for name, hit in causes.items() if hit.any()
    ]
    return ", ".join(parts) or f"all {n} pixels usable"


def fill_masked(flux: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Copy of ``flux`` with masked (or non-finite) pixels linearly interpolated per row."""
    out = np.array(flux, dtype=np.float32, copy=True)
    bad = mask | ~np.isfinite(out)
    x = np.arange(out.shape[1])
    for i in np.flatnonzero(bad.any(axis=1)):
        good = ~bad[i]
        out[i, bad[i]] = np.interp(x[bad[i]], x[good], out[i, good]) if good.any() else 1.0
    return out


def prepare_inputs(
    flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model inputs from observed arrays: masked pixels filled, σ clipped, mask as bool.

    Non-finite flux or σ, or σ ≤ 0, is treated as masked (never propagated as NaN).
    """
    flux = np.asarray(flux, dtype=np.float32)
    sigma = np.asarray(sigma, dtype=np.float32)
    if flux.ndim != 2 or flux.shape != sigma.shape or flux.shape != np.shape(mask):
        raise SpectrumArrayError(
            f"flux {flux.shape}, sigma {sigma.shape}, mask {np.shape(mask)}: expected three "
            "(n, n_pix) arrays of one shape"
        )
    with np.errstate(invalid="ignore"):
        bad = np.asarray(mask, dtype=bool) | ~np.isfinite(flux) | ~np.isfinite(sigma) | ~(sigma > 0)
    filled = fill_masked(flux, bad)
    sig = np.where(bad, SIGMA_CLIP, np.minimum(sigma, SIGMA_CLIP)).astype(np.float32)
    return filled, sig, bad
