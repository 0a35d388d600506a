"""Example spectra (noisy, denoised, truth, residual) at low, median and high S/N."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pfsdenoise.constants import C_KMS

CA2_VACUUM = (8500.36, 8544.44, 8664.52)
"""Ca II triplet, vacuum wavelengths [Å] (SCIENCE.md §5)."""


def pick_examples(errors: pd.DataFrame, quantiles: Sequence[float]) -> list[str]:
    """``spectrum_id`` of the spectra whose S/N is closest to each S/N quantile of the table."""
    if "rel_mean" in errors:  # a method that left spectra out (tempfit's failed fits): skip them
        errors = errors[np.isfinite(errors["rel_mean"].to_numpy(dtype=float))]
    if errors.empty:
        raise ValueError("no spectra in the error table to pick examples from")
    snr = errors["snr"].to_numpy(dtype=float)
    ids = []
    for q in quantiles:
        target = np.nanquantile(snr, q)
        ids.append(str(errors["spectrum_id"].iloc[int(np.nanargmin(np.abs(snr - target)))]))
    return ids


def example_spectra(
    wave: np.ndarray,
    noisy: np.ndarray,
    denoised: np.ndarray,
    truth: np.ndarray,
    mask: np.ndarray,
    *,
    snr: Sequence[float],
    rv: Sequence[float],
    labels: Sequence[str],
    method: str,
    zoom: tuple[float, float],
    width: float,
) -> Figure:
    """One row per spectrum: the whole arm (left) and the Ca II triplet zoom (right), each over a
    residual panel (denoised − truth and noisy − truth). Masked pixels are not drawn."""
    n = len(noisy)
    fig = Figure(figsize=(width, 3.0 * n), layout="constrained")
    grid = fig.add_gridspec(2 * n, 2, height_ratios=[3, 1] * n, width_ratios=[2.2, 1])
    lo, hi = zoom
    for i in range(n):
        good = ~np.asarray(mask[i], bool)
        y_noisy = np.where(good, noisy[i], np.nan)
        y_pred = np.where(good, denoised[i], np.nan)
        for col, sel in enumerate((slice(None), (wave >= lo) & (wave <= hi))):
            ax = fig.add_subplot(grid[2 * i, col])
            res = fig.add_subplot(grid[2 * i + 1, col], sharex=ax)
            w = wave[sel]
            ax.plot(w, y_noisy[sel], color="0.7", lw=0.5, label="noisy")
            ax.plot(w, truth[i][sel], color="k", lw=0.8, label="truth")
            ax.plot(w, y_pred[sel], color="C3", lw=0.7, label=method)
            res.plot(w, (y_noisy - truth[i])[sel], color="0.7", lw=0.5)
            res.plot(w, (y_pred - truth[i])[sel], color="C3", lw=0.7)
            res.axhline(0, color="k", lw=0.5)
            if col == 1:
                for c in CA2_VACUUM:  # at the star's radial velocity
                    ax.axvline(c * (1 + rv[i] / C_KMS), color="C0", lw=0.5, ls=":")
            ax.set_ylabel("normalized flux")
            res.set_ylabel("residual")
            ax.tick_params(labelbottom=False)
            if i == n - 1:
                res.set_xlabel("vacuum wavelength [Å]")
            title = f"{labels[i]}, S/N = {snr[i]:.1f}" + (" (Ca II triplet)" if col else "")
            ax.set_title(title, fontsize=9)
            if i == 0 and col == 0:
                ax.legend(fontsize=7, loc="lower left")
    return fig
