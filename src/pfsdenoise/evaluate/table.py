"""Comparison table of every method per S/N bin (CSV, long form, and Markdown, wide form)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

NOISY = "noisy input"


def comparison_table(
    errbins: Mapping[str, pd.DataFrame],
    *,
    metric: str = "rel_mean",
    statistic: str = "mean",
) -> pd.DataFrame:
    """Long table: one row per (method, S/N bin) with the chosen statistic of ``metric`` and its
    interval, plus the noisy input's value from the same spectra (``noisy_<metric>``)."""
    rows = []
    for method, frame in errbins.items():
        for name, label in ((metric, method), (f"noisy_{metric}", NOISY)):
            sub = frame[frame["metric"] == name]
            if sub.empty:
                raise KeyError(f"error bins of {method!r} have no metric {name!r}")
            if label == NOISY and rows and any(r["method"] == NOISY for r in rows):
                continue
            for _, r in sub.iterrows():
                rows.append(
                    {
                        "method": label,
                        "bin": int(r["bin"]),
                        "snr_lo": r["lo"],
                        "snr_hi": r["hi"],
                        "count": int(r["count"]),
                        "value": r[statistic],
                        "value_lo": r.get(f"{statistic}_lo", np.nan),
                        "value_hi": r.get(f"{statistic}_hi", np.nan),
                    }
                )
    out = pd.DataFrame(rows)
    out.attrs.update(metric=metric, statistic=statistic)
    return out


def markdown_table(
    long: pd.DataFrame, models: Sequence[str], baselines: Sequence[str], *, scale: float = 100.0
) -> str:
    """Wide Markdown table: S/N bins × methods (value × ``scale``, i.e. percent), the best method
    of each bin in bold, and for each model its ratio to the best baseline (< 1: the model wins)."""
    wide = long.pivot(index="bin", columns="method", values="value")
    ref = long[long["method"] == NOISY].set_index("bin")
    methods = [m for m in [NOISY, *baselines, *models] if m in wide.columns]
    header = [
        "S/N bin",
        "N",
        *methods,
        *(f"{m} / best baseline" for m in models if m in wide.columns),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    real_baselines = [b for b in baselines if b in wide.columns and b != "identity"]
    for b, row in wide.iterrows():
        finite = row[[m for m in methods if m != NOISY]].dropna()
        best = finite.idxmin() if len(finite) else None
        lo, hi, count = ref.loc[b, ["snr_lo", "snr_hi", "count"]]
        cells = [f"{lo:g}–{hi:g}", str(int(count))]
        for m in methods:
            v = row[m]
            text = "—" if not np.isfinite(v) else f"{v * scale:.3g}"
            cells.append(f"**{text}**" if m == best else text)
        best_base = row[real_baselines].min() if real_baselines else np.nan
        for m in models:
            if m in wide.columns:
                ratio = row[m] / best_base if np.isfinite(best_base) and best_base > 0 else np.nan
                cells.append("—" if not np.isfinite(ratio) else f"{ratio:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    metric = long.attrs.get("metric", "rel_mean")
    statistic = long.attrs.get("statistic", "mean")
    lines.append("")
    lines.append(
        f"Values: {statistic} over the spectra of each bin of the per-spectrum `{metric}` "
        f"(relative error, ×{scale:g}, i.e. percent); bold = lowest in the bin; — = empty bin."
    )
    return "\n".join(lines) + "\n"


def write_comparison(
    bin_paths: Mapping[str, str],
    csv_path: str,
    md_path: str,
    *,
    models: Sequence[str],
    baselines: Sequence[str],
    metric: str,
    statistic: str,
    provenance: Mapping[str, Any],
) -> pd.DataFrame:
    """Read each method's S/N error bins, write the long CSV and the wide Markdown table, each
    with a provenance sidecar."""
    from pfsdenoise.atomic import atomic_path, write_text_atomic
    from pfsdenoise.evaluate.binning import read_errbins
    from pfsdenoise.provenance import write_sidecar

    bins = {m: read_errbins(p) for m, p in bin_paths.items()}
    long = comparison_table(bins, metric=metric, statistic=statistic)
    with atomic_path(csv_path) as tmp:
        long.to_csv(tmp, index=False)
    write_text_atomic(md_path, markdown_table(long, models, baselines))
    for path in (csv_path, md_path):
        write_sidecar(path, provenance)
    return long
