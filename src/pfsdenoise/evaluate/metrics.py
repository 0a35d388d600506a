"""Per-spectrum error metrics of a denoised spectrum against the noiseless one.

Definition (the paper's Eq. 1 as we read it, Pál & Dobos 2025): the pixel-wise relative error
r_i = |x̂_i − x_i| / x_i of the denoised x̂ against the noiseless x, on the pixels that are
unmasked, finite and have x_i > ``min_truth`` (a floor that keeps near-zero flux in saturated
molecular bands from dominating); per spectrum its mean and its maximum. The same numbers for
the noisy input y are the reference (≈ 0.8/(S/N) on average, SCIENCE.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pfsdenoise.constants import C_KMS


def valid_pixels(
    truth: np.ndarray, sigma: np.ndarray, mask: np.ndarray, min_truth: float
) -> np.ndarray:
    """Pixels that enter the metrics: unmasked, finite truth and σ, truth above ``min_truth``."""
    return ~np.asarray(mask, bool) & np.isfinite(truth) & np.isfinite(sigma) & (truth > min_truth)


def relative_error(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """|x̂ − x| / x on valid pixels, NaN elsewhere (shape of ``truth``)."""
    with np.errstate(all="ignore"):
        return np.where(valid, np.abs(pred - truth) / truth, np.nan)


def _nan_reduce(func, values: np.ndarray) -> np.ndarray:
    """Row-wise nan-reduction that yields NaN (not a warning) for rows without valid pixels."""
    out = np.full(values.shape[0], np.nan)
    has = np.isfinite(values).any(axis=1)
    if has.any():
        out[has] = func(values[has], axis=1)
    return out


def mean_relative_error(
    pred: np.ndarray, truth: np.ndarray, sigma: np.ndarray, mask: np.ndarray, min_truth: float
) -> np.ndarray:
    """Mean relative error per spectrum (the tuning objective of the baselines)."""
    return _nan_reduce(
        np.nanmean, relative_error(pred, truth, valid_pixels(truth, sigma, mask, min_truth))
    )


def line_window_mask(
    wave: np.ndarray, rv: np.ndarray, centres: Sequence[float], half_width: float
) -> np.ndarray:
    """(n, n_pix) True within ``half_width`` Å of any rest-frame vacuum ``centres`` shifted by rv."""
    shift = 1.0 + np.asarray(rv, dtype=np.float64)[:, None, None] / C_KMS
    centres = np.asarray(centres, dtype=np.float64)[None, :, None] * shift
    return (np.abs(np.asarray(wave)[None, None, :] - centres) <= half_width).any(axis=1)


def _spectrum_stats(
    pred: np.ndarray,
    truth: np.ndarray,
    sigma: np.ndarray,
    valid: np.ndarray,
    windows: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    rel = relative_error(pred, truth, valid)
    with np.errstate(all="ignore"):
        signed = np.where(valid, (pred - truth) / truth, np.nan)
        pull = np.where(valid, (pred - truth) / sigma, np.nan)
    out = {
        "rel_mean": _nan_reduce(np.nanmean, rel),
        "rel_max": _nan_reduce(np.nanmax, rel),
        "rel_median": _nan_reduce(np.nanmedian, rel),
        "bias": _nan_reduce(np.nanmean, signed),
        "resid_sigma": np.sqrt(_nan_reduce(np.nanmean, np.square(pull))),
    }
    for name, window in windows.items():
        out[f"line_{name}_mean"] = _nan_reduce(np.nanmean, np.where(window, rel, np.nan))
        out[f"line_{name}_max"] = _nan_reduce(np.nanmax, np.where(window, rel, np.nan))
    return out


def spectrum_metrics(
    pred: np.ndarray,
    noisy: np.ndarray,
    truth: np.ndarray,
    sigma: np.ndarray,
    mask: np.ndarray,
    wave: np.ndarray,
    rv: np.ndarray,
    *,
    lines: Mapping[str, Sequence[float]],
    line_half_width: float,
    min_truth: float,
) -> dict[str, np.ndarray]:
    """All per-spectrum metrics of a batch, for the denoised and (prefix ``noisy_``) the input.

    Columns: ``rel_mean``, ``rel_max``, ``rel_median`` (relative error over valid pixels),
    ``bias`` (mean signed relative error), ``resid_sigma`` (rms of (x̂ − x)/σ: 1 for the noisy
    input, < 1 when noise is removed), ``line_<name>_mean``/``_max`` (relative error within the
    rv-shifted line windows), the same with ``noisy_``, the ratios ``ratio_mean`` and
    ``ratio_max`` (denoised / noisy), and ``n_valid`` (pixels used).
    """
    pred, noisy, truth, sigma = (
        np.asarray(a, dtype=np.float64) for a in (pred, noisy, truth, sigma)
    )
    if not (pred.shape == noisy.shape == truth.shape == sigma.shape == np.shape(mask)):
        raise ValueError(
            f"shapes differ: prediction {pred.shape}, noisy {noisy.shape}, truth {truth.shape}, "
            f"sigma {sigma.shape}, mask {np.shape(mask)}"
        )
    valid = valid_pixels(truth, sigma, mask, min_truth)
    windows = {
        name: line_window_mask(wave, rv, centres, line_half_width) & valid
        for name, centres in lines.items()
    }
    out = _spectrum_stats(pred, truth, sigma, valid, windows)
    for key, value in _spectrum_stats(noisy, truth, sigma, valid, windows).items():
        out[f"noisy_{key}"] = value
    with np.errstate(all="ignore"):
        out["ratio_mean"] = out["rel_mean"] / out["noisy_rel_mean"]
        out["ratio_max"] = out["rel_max"] / out["noisy_rel_max"]
    out["n_valid"] = valid.sum(axis=1)
    return out
