"""Calibration of a method's per-pixel uncertainty σ̂ against the noiseless truth, per S/N bin.

For every method whose prediction shards carry ``sigma_denoised`` (TEAM.md contract) and every
usable pixel (unmasked, finite x̂, x and σ̂ > 0) the z-score z = (x̂ − x)/σ̂. Per S/N bin, over
all pixels of its spectra: ``within_1sigma`` = fraction with |z| < 1 (nominal 68.27 % for a
calibrated Gaussian σ̂), ``within_2sigma`` (nominal 95.45 %), the z-scores' ``z_std`` and robust
``z_scatter`` (1.4826 MAD: 1 when calibrated; > 1: σ̂ too small) and ``z_median`` (bias).
Methods without the column are left out, so the table grows as methods gain a σ̂.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.evaluate.alignment import check_aligned
from pfsdenoise.shards import read_shard

log = logging.getLogger(__name__)

NOMINAL = {"within_1sigma": 0.682689, "within_2sigma": 0.954500}
"""Fractions of a Gaussian within ±1σ and ±2σ (erf(1/√2), erf(√2))."""


def pixel_z(
    pred: np.ndarray, sigma_hat: np.ndarray, truth: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """z = (x̂ − x)/σ̂ per pixel, NaN where the pixel is masked or any value is unusable."""
    with np.errstate(all="ignore"):
        use = ~np.asarray(mask, bool) & np.isfinite(pred) & np.isfinite(truth)
        use &= np.isfinite(sigma_hat) & (sigma_hat > 0)
        return np.where(use, (pred - truth) / sigma_hat, np.nan)


def z_statistics(z: np.ndarray) -> dict[str, float]:
    """Coverage statistics of pooled z-scores (module docstring); NaN for none."""
    z = z[np.isfinite(z)]
    if z.size == 0:
        return {k: np.nan for k in ("within_1sigma", "within_2sigma", "z_std", "z_scatter",
                                    "z_median")}  # fmt: skip
    a = np.abs(z)
    med = float(np.median(z))
    return {
        "within_1sigma": float(np.mean(a < 1)),
        "within_2sigma": float(np.mean(a < 2)),
        "z_std": float(np.std(z)),
        "z_scatter": float(1.4826 * np.median(np.abs(z - med))),
        "z_median": med,
    }


def has_error_column(path: str) -> bool:
    """Whether a prediction shard carries ``sigma_denoised``."""
    return DENOISED_ERR_COLUMN in pq.read_schema(path).names


def coverage_table(
    test_paths: Sequence[str],
    pred_paths: Mapping[str, Sequence[str]],
    edges: Sequence[float],
) -> pd.DataFrame:
    """One row per (method with σ̂, S/N bin): spectra, pixels and :func:`z_statistics`."""
    edges = np.asarray(edges, dtype=np.float64)
    rows = []
    for method, paths in pred_paths.items():
        if len(paths) != len(test_paths):
            raise ValueError(f"{method}: {len(paths)} prediction shards for {len(test_paths)}")
        if not all(has_error_column(p) for p in paths):
            log.info("%s: prediction shards have no %s; left out", method, DENOISED_ERR_COLUMN)
            continue
        zs, snrs = [], []
        for t, p in zip(test_paths, paths, strict=True):
            test = read_shard(t, columns=["spectrum_id", "snr", "flux_true", "mask"])
            pred = read_shard(p, columns=["spectrum_id", DENOISED_COLUMN, DENOISED_ERR_COLUMN])
            check_aligned(test, pred, t, p)
            zs.append(
                pixel_z(
                    pred.spectra[DENOISED_COLUMN],
                    pred.spectra[DENOISED_ERR_COLUMN],
                    test.spectra["flux_true"],
                    test.spectra["mask"],
                )
            )
            snrs.append(test.params["snr"].to_numpy(dtype=np.float64))
        z, snr = np.concatenate(zs), np.concatenate(snrs)
        idx = np.searchsorted(edges, snr, side="right") - 1
        idx[snr == edges[-1]] = edges.size - 2
        for k in range(edges.size - 1):
            sel = idx == k
            rows.append(
                {
                    "method": method,
                    "bin": k,
                    "snr_lo": edges[k],
                    "snr_hi": edges[k + 1],
                    "n_spectra": int(np.isfinite(z[sel]).any(axis=1).sum()),
                    "n_pixels": int(np.isfinite(z[sel]).sum()),
                    **z_statistics(z[sel]),
                }
            )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The coverage table in Markdown (percent of pixels; nominal values in the header)."""
    lines = [
        "# Coverage of the denoised flux's uncertainty σ̂",
        "",
        "Pixels with |x̂ − x| < σ̂ against the noiseless x (nominal 68.3 %) and < 2σ̂ (nominal "
        "95.4 %); z = (x̂ − x)/σ̂: standard deviation, robust scatter (1.4826 MAD) and median. "
        "Only methods whose predictions carry σ̂ appear.",
        "",
        "| method | S/N | spectra | pixels | within 1σ̂ % | within 2σ̂ % | z std | z scatter | "
        "z median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if table.empty:
        lines.append("| (no method gives σ̂) | | | | | | | | |")
    for _, r in table[table.get("n_pixels", pd.Series(dtype=int)) > 0].iterrows():
        lines.append(
            f"| {r.method} | {r.snr_lo:g}–{r.snr_hi:g} | {r.n_spectra} | {r.n_pixels} | "
            f"{100 * r.within_1sigma:.1f} | {100 * r.within_2sigma:.1f} | {r.z_std:.2f} | "
            f"{r.z_scatter:.2f} | {r.z_median:+.2f} |"
        )
    return "\n".join(lines) + "\n"


def write_coverage(
    test_paths: Sequence[str],
    pred_paths: Mapping[str, Sequence[str]],
    csv_path: str,
    md_path: str,
    *,
    edges: Sequence[float],
    provenance: Mapping,
) -> pd.DataFrame:
    """Compute :func:`coverage_table`; write the CSV and the Markdown, each with a sidecar."""
    from pfsdenoise.atomic import atomic_path, write_text_atomic
    from pfsdenoise.provenance import write_sidecar

    table = coverage_table(test_paths, pred_paths, edges)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_text_atomic(md_path, markdown(table))
    for path in (csv_path, md_path):
        write_sidecar(path, provenance)
    return table
