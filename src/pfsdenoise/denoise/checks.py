"""Domain checks of one input spectrum: warnings, never refusals (the user may know better).

* uncalibrated flux (electrons or counts: pfsArm, pfsMerged): the models learned flux-calibrated
  stellar spectra, whose continuum is not the instrument's throughput curve;
* S/N outside the range the model was trained on (its card, ``snr``);
* σ that looks like a variance: σ far from the pixel-to-pixel scatter of the flux while √σ
  matches it (the scatter is the DER_SNR estimate, Stoehr et al. 2008, ASP Conf. Ser. 394, 505);
* a median σ/flux no real spectrum has.

S/N is the median over usable pixels of flux/σ (SCIENCE.md §7, the shards' definition with the
noisy flux in place of the noiseless one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

VARIANCE_RATIO = 5.0
"""σ is suspect when its median differs from the flux scatter by more than this factor (choice:
a factor 5 is well beyond the scatter estimate's bias from unresolved lines)."""
SQRT_MATCH = 2.0
"""... and √σ matches the scatter within this factor (choice)."""
SIGMA_RATIO_RANGE = (1e-4, 1e2)
"""Median σ / median flux outside this range cannot be right (choice: S/N per pixel above 10⁴
exceeds what a PFS pixel collects, the ETC gives S/N ≈ 55 at AB 18 in 8 × 900 s, SCIENCE.md §4;
below 10⁻² there is no signal left to denoise)."""
MIN_PIXELS = 20
"""Fewer usable pixels than this: no statistic is computed."""


def snr(flux: np.ndarray, sigma: np.ndarray, good: np.ndarray) -> float:
    """Median flux/σ over the ``good`` pixels (NaN if none)."""
    if not good.any():
        return float("nan")
    return float(np.median(flux[good] / sigma[good]))


def der_noise(flux: np.ndarray) -> float:
    """DER_SNR noise of a 1-D flux array (Stoehr et al. 2008):
    1.482602 / √6 · median |2 f_i − f_{i−2} − f_{i+2}|."""
    if flux.size < 5:
        return float("nan")
    return float(1.482602 / np.sqrt(6.0) * np.median(np.abs(2 * flux[2:-2] - flux[:-4] - flux[4:])))


def unit_warnings(flux_kind: str, flux_unit: Any) -> list[str]:
    """Warnings about a file's flux unit (the same for all its spectra)."""
    if flux_kind != "counts":
        return []
    return [
        f"uncalibrated flux ({flux_unit}): the model was trained on flux-calibrated spectra "
        "(f_lambda), whose continuum is not the throughput curve; use pfsSingle, "
        "pfsCalibrated or pfsCoadd where you can"
    ]


def domain_warnings(
    flux: np.ndarray, sigma: np.ndarray, good: np.ndarray, *, card: Mapping[str, Any]
) -> list[str]:
    """Warnings about one spectrum (native units; ``good``: usable pixels inside the arm)."""
    out: list[str] = []
    if good.sum() < MIN_PIXELS:
        return out
    f, s = flux[good], sigma[good]
    value = snr(flux, sigma, good)
    limits = (card or {}).get("snr") or {}
    lo, hi = limits.get("min", -np.inf), limits.get("max", np.inf)
    if not lo <= value <= hi:
        out.append(
            f"S/N {value:.3g} outside the range the model was trained on ({lo:.3g}-{hi:.3g}, "
            "model card): expect larger errors"
        )
    scatter = der_noise(f)
    median_sigma = float(np.median(s))
    if scatter > 0 and median_sigma > 0:
        ratio = median_sigma / scatter
        root = float(np.median(np.sqrt(s))) / scatter
        if max(ratio, 1 / ratio) > VARIANCE_RATIO and max(root, 1 / root) < SQRT_MATCH:
            out.append(
                f"sigma looks like a variance: its median is {ratio:.3g}x the flux scatter, its "
                f"square root {root:.2f}x; if the error column holds variances, name it so "
                "(VARIANCE, IVAR) or take its square root"
            )
    median_flux = float(np.median(f))
    rel = median_sigma / abs(median_flux) if median_flux != 0 else float("inf")
    if not SIGMA_RATIO_RANGE[0] <= rel <= SIGMA_RATIO_RANGE[1]:
        out.append(
            f"median sigma/flux is {rel:.3g}: no spectrum has that; check the flux and error "
            "units (or whether the error is an inverse variance)"
        )
    return out
