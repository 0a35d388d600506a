"""Per-S/N-bin choice of a baseline's parameters on validation spectra, and the denoiser it gives.

For every candidate in the grid the baseline denoises the validation spectra; within each bin of
*observable* S/N (median flux/σ of the noisy spectrum, never the truth) the candidate with the
lowest average mean-relative-error wins. At test time a spectrum gets the winner of its own S/N
bin. This is the tuning SCIENCE.md §7 asks for to keep the baselines fair.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.evaluate.baselines import Baseline
from pfsdenoise.evaluate.baselines.common import estimate_snr
from pfsdenoise.evaluate.metrics import mean_relative_error


@dataclass
class TunedParams:
    """Winning parameters per S/N bin (``per_bin[i]`` for ``snr_edges[i]..snr_edges[i+1]``)."""

    method: str
    snr_edges: list[float]
    per_bin: list[dict[str, Any]]
    fixed: dict[str, Any] = field(default_factory=dict)
    score: list[float] = field(default_factory=list)
    n_val: list[int] = field(default_factory=list)
    n_used: list[int] = field(default_factory=list)
    """Validation spectra each bin's choice was made on (its own, or pooled with neighbours)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TunedParams:
        return cls(**json.loads(text))


def save_params(path: str | Path, tuned: TunedParams) -> None:
    write_text_atomic(path, tuned.to_json() + "\n")


def load_params(path: str | Path) -> TunedParams:
    try:
        return TunedParams.from_json(Path(path).read_text())
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path}: not a tuned-parameter file ({exc}); rerun the tune rule"
        ) from exc


def candidates(grid: Mapping[str, Sequence[Any]], method: str = "") -> list[dict[str, Any]]:
    """All combinations of the grid values (Savitzky–Golay combinations with window ≤ order are
    dropped)."""
    if not grid:
        return [{}]
    names = sorted(grid)
    combos = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(grid[n] for n in names))
    ]
    if method == "savgol":
        combos = [c for c in combos if c["window"] > c["order"] and c["window"] % 2 == 1]
    if not combos:
        raise ValueError(f"tuning grid {dict(grid)} of {method!r} leaves no valid combination")
    return combos


def snr_bin_index(snr: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin of each S/N value; values outside the edges go to the first/last bin, NaN to the first."""
    idx = (
        np.searchsorted(
            np.asarray(edges, dtype=np.float64), np.nan_to_num(snr, nan=-np.inf), side="right"
        )
        - 1
    )
    return np.clip(idx, 0, len(edges) - 2)


def tune_per_snr_bin(
    method: str,
    func: Baseline,
    flux: np.ndarray,
    truth: np.ndarray,
    sigma: np.ndarray,
    mask: np.ndarray,
    *,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any],
    snr_edges: Sequence[float],
    min_truth: float,
    min_spectra: int,
) -> TunedParams:
    """Grid-search ``func`` on validation spectra, one winner per observable-S/N bin.

    A bin with fewer than ``min_spectra`` validation spectra is pooled with its neighbours, one
    bin more on each side at a time, until the pool holds that many (a winner picked on a handful
    of spectra is noise); ``n_val`` reports the bin's own count, ``n_used`` the pool's, ``score``
    the bin's own mean error (NaN when empty). Without any validation spectrum near, a bin takes
    the overall winner.
    """
    if len(snr_edges) < 2:
        raise ValueError(f"snr_edges needs at least two values, got {list(snr_edges)}")
    bins = snr_bin_index(estimate_snr(flux, sigma, mask), snr_edges)
    combos = candidates(grid, method)
    errors = np.stack(
        [
            mean_relative_error(
                func(flux, sigma, mask, **fixed, **c), truth, sigma, mask, min_truth
            )
            for c in combos
        ]
    )  # (n_candidates, n_spectra)
    overall = int(np.nanargmin(np.nanmean(errors, axis=1)))
    n_bins = len(snr_edges) - 1
    per_bin, score, n_val, n_used = [], [], [], []
    for b in range(n_bins):
        own = bins == b
        pool = _pool(bins, b, n_bins, min_spectra)
        with np.errstate(all="ignore"):
            means = (
                np.nanmean(errors[:, pool], axis=1) if pool.any() else np.full(len(combos), np.nan)
            )
            own_means = np.nanmean(errors[:, own], axis=1) if own.any() else means * np.nan
        best = int(np.nanargmin(means)) if np.isfinite(means).any() else overall
        per_bin.append(combos[best])
        score.append(float(own_means[best]) if np.isfinite(own_means[best]) else float("nan"))
        n_val.append(int(own.sum()))
        n_used.append(int(pool.sum()))
    return TunedParams(
        method, [float(e) for e in snr_edges], per_bin, dict(fixed), score, n_val, n_used
    )


def _pool(bins: np.ndarray, b: int, n_bins: int, min_spectra: int) -> np.ndarray:
    """Spectra of bin ``b`` widened symmetrically over neighbouring bins to ``min_spectra``."""
    lo = hi = b
    pool = bins == b
    while pool.sum() < min_spectra and (lo > 0 or hi < n_bins - 1):
        lo, hi = max(lo - 1, 0), min(hi + 1, n_bins - 1)
        pool = (bins >= lo) & (bins <= hi)
    return pool


class TunedBaseline:
    """A baseline with per-S/N-bin parameters, callable like a trained model's ``denoise``."""

    def __init__(self, func: Baseline, tuned: TunedParams) -> None:
        self.func = func
        self.tuned = tuned

    def denoise(self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
        flux = np.atleast_2d(flux)
        sigma = np.atleast_2d(sigma)
        mask = np.atleast_2d(mask)
        bins = snr_bin_index(estimate_snr(flux, sigma, mask), self.tuned.snr_edges)
        out = np.empty(flux.shape, dtype=np.float64)
        for b in np.unique(bins):
            sel = bins == b
            out[sel] = self.func(
                flux[sel], sigma[sel], mask[sel], **self.tuned.fixed, **self.tuned.per_bin[b]
            )
        return out


def tune_from_shards(
    method: str,
    val_paths: Sequence[str | Path],
    output: str | Path,
    *,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any],
    snr_edges: Sequence[float],
    max_spectra: int,
    min_truth: float,
    rng: np.random.Generator,
    min_spectra: int,
    basis_path: str | Path | None,
    provenance: Mapping[str, Any],
) -> TunedParams:
    """Tune baseline ``method`` on (a seeded subset of) the validation shards; write params.json
    with its provenance sidecar."""
    from pfsdenoise.evaluate.baselines import baseline_function
    from pfsdenoise.evaluate.baselines.pca import load_basis
    from pfsdenoise.provenance import write_sidecar
    from pfsdenoise.shards import concat_batches, read_shard

    cols = ["flux", "flux_true", "sigma", "mask"]
    val = concat_batches(read_shard(p, columns=cols) for p in val_paths)
    rows = np.arange(len(val.spectra["flux"]))  # len(val) counts params: none read here
    if len(rows) > max_spectra:
        rows = np.sort(rng.choice(rows, size=max_spectra, replace=False))
    s = {k: v[rows] for k, v in val.spectra.items()}
    func = baseline_function(method, load_basis(basis_path) if basis_path else None)
    tuned = tune_per_snr_bin(
        method, func, s["flux"], s["flux_true"], s["sigma"], s["mask"],
        grid=grid, fixed=fixed, snr_edges=snr_edges, min_truth=min_truth,
        min_spectra=min_spectra,
    )  # fmt: skip
    save_params(output, tuned)
    write_sidecar(output, provenance)
    return tuned
