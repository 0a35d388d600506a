"""Error statistics per bin of one parameter, with bootstrap confidence intervals.

One row per (metric, bin): the bin's edges and centre, ``count``, and ``mean``, ``median``,
``p90`` (90th percentile) and ``max`` of the per-spectrum metric, each of the first three with a
percentile-bootstrap interval ``<stat>_lo``/``<stat>_hi``. A bin with no spectrum has count 0
and NaN statistics (empty, never zero). Values outside the outer edges are left out and counted
in the table's ``n_outside`` metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

STATS = ("mean", "median", "p90")


def _stat(values: np.ndarray, name: str, axis: int = -1) -> np.ndarray:
    if name == "mean":
        return np.mean(values, axis=axis)
    if name == "median":
        return np.median(values, axis=axis)
    if name == "p90":
        return np.percentile(values, 90, axis=axis)
    raise ValueError(f"unknown statistic {name!r}")


def bootstrap_intervals(
    values: np.ndarray,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
    max_cells: int = 4_000_000,
) -> dict[str, tuple[float, float]]:
    """Percentile-bootstrap ``level`` intervals of mean, median and p90 of ``values``."""
    n = values.size
    if n == 0 or n_boot <= 0:
        return {s: (np.nan, np.nan) for s in STATS}
    per_round = max(1, max_cells // n)
    draws: dict[str, list[np.ndarray]] = {s: [] for s in STATS}
    done = 0
    while done < n_boot:
        m = min(per_round, n_boot - done)
        sample = values[rng.integers(0, n, size=(m, n))]
        for s in STATS:
            draws[s].append(_stat(sample, s, axis=1))
        done += m
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {s: tuple(np.percentile(np.concatenate(draws[s]), q)) for s in STATS}


def bin_statistics(
    table: pd.DataFrame,
    column: str,
    edges: Sequence[float],
    metrics: Sequence[str],
    *,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Statistics of each metric per bin of ``table[column]`` (bins are [lo, hi), the last closed)."""
    if column not in table:
        raise KeyError(f"error table has no column {column!r}; it has {list(table.columns)}")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin edges of {column!r} must increase strictly, got {edges.tolist()}")
    missing = [m for m in metrics if m not in table]
    if missing:
        raise KeyError(f"error table has no metric column(s) {missing}")
    x = table[column].to_numpy(dtype=np.float64)
    idx = np.searchsorted(edges, x, side="right") - 1
    idx[x == edges[-1]] = edges.size - 2
    inside = np.isfinite(x) & (idx >= 0) & (idx < edges.size - 1)
    rows = []
    for metric in metrics:
        y = table[metric].to_numpy(dtype=np.float64)
        for b in range(edges.size - 1):
            values = y[inside & (idx == b) & np.isfinite(y)]
            row = {
                "param": column,
                "metric": metric,
                "bin": b,
                "lo": edges[b],
                "hi": edges[b + 1],
                "centre": 0.5 * (edges[b] + edges[b + 1]),
                "count": int(values.size),
                "x_median": float(np.median(x[inside & (idx == b)])) if values.size else np.nan,
            }
            for s in STATS:
                row[s] = float(_stat(values, s)) if values.size else np.nan
            row["max"] = float(values.max()) if values.size else np.nan
            for s, (lo, hi) in bootstrap_intervals(values, n_boot, level, rng).items():
                row[f"{s}_lo"], row[f"{s}_hi"] = lo, hi
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["n_outside"] = int((~inside).sum())
    return out


def write_errbins(
    errors_path: str | os.PathLike,
    outputs: Mapping[str | os.PathLike, Mapping[str, Any]],
    *,
    provenance: Mapping[str, Any] | None = None,
    **binning: Any,
) -> dict[str, pd.DataFrame]:
    """Bin one method's error table by several columns, one file each (provenance inside),
    reading the table once. ``outputs`` maps each output path to its ``column`` and the
    keyword arguments of :func:`bin_statistics` of its own (``edges``, ``rng``); ``binning``
    holds those they share (metrics, n_boot, level)."""
    from pfsdenoise.shards import read_shard, write_shard

    errors = read_shard(errors_path)
    tables = {}
    for output, spec in outputs.items():
        spec = dict(spec)
        column = spec.pop("column")
        out = bin_statistics(errors.params, column, **binning, **spec)
        write_shard(
            output, out, {}, errors.wave, provenance=provenance,
            extra_metadata={"n_outside": out.attrs["n_outside"], "column": column},
        )  # fmt: skip
        tables[str(output)] = out
    return tables


def read_errbins(path: str | os.PathLike) -> pd.DataFrame:
    """Read an error-bin table written by :func:`write_errbins`."""
    from pfsdenoise.shards import read_shard

    return read_shard(path).params
