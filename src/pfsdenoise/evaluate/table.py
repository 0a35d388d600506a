"""Comparison table of every method per S/N bin (CSV, long form, and Markdown, wide form).

With an oracle (the template fit ``tempfit``, issue 15) the table also gives each method's error
as a multiple of the oracle's, per S/N bin, paired: over the spectra the oracle fitted and
converged on, so that a subset or a failed fit never compares different spectra.
"""

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


def oracle_ratios(
    errors: Mapping[str, pd.DataFrame],
    edges: Sequence[float],
    *,
    oracle: str,
    metric: str = "rel_mean",
) -> pd.DataFrame:
    """Per (method, S/N bin): mean ``metric`` / the oracle's mean over the same spectra.

    ``errors`` maps each method (the oracle included) to its per-spectrum error table
    (``spectrum_id``, ``snr``, ``metric``, ``noisy_<metric>``); the noisy input is a method too.
    """
    if oracle not in errors:
        raise KeyError(f"no error table of the oracle {oracle!r}")
    ref = errors[oracle].set_index("spectrum_id")
    ref = ref[np.isfinite(ref[metric].to_numpy(dtype=np.float64))]
    edges = np.asarray(edges, dtype=np.float64)
    snr = ref["snr"].to_numpy(dtype=np.float64)
    idx = np.searchsorted(edges, snr, side="right") - 1
    idx[snr == edges[-1]] = edges.size - 2
    columns = {NOISY: (oracle, f"noisy_{metric}")}
    columns.update({m: (m, metric) for m in errors if m != oracle})
    rows = []
    for label, (method, column) in columns.items():
        values = errors[method].set_index("spectrum_id")[column].reindex(ref.index)
        values = values.to_numpy(dtype=np.float64)
        for b in range(edges.size - 1):
            sel = (idx == b) & np.isfinite(values)
            base = float(ref[metric].to_numpy()[sel].mean()) if sel.any() else np.nan
            mean = float(values[sel].mean()) if sel.any() else np.nan
            rows.append(
                {"method": label, "bin": b, "snr_lo": edges[b], "snr_hi": edges[b + 1],
                 "n_paired": int(sel.sum()), "oracle_value": base,
                 "ratio": mean / base if base > 0 else np.nan}
            )  # fmt: skip
    return pd.DataFrame(rows)


def ratio_markdown(ratios: pd.DataFrame, methods: Sequence[str], oracle: str) -> str:
    """Markdown table of :func:`oracle_ratios`: S/N bins × methods."""
    wide = ratios.pivot(index="bin", columns="method", values="ratio")
    first = ratios.drop_duplicates("bin").set_index("bin")
    cols = [m for m in [NOISY, *methods] if m in wide.columns]
    lines = [
        f"Ratio of each method's error to `{oracle}`'s (the template-fit oracle, issue 15) on the "
        f"same spectra: those `{oracle}` fitted and converged on (N).",
        "",
        "| S/N bin | N | " + " | ".join(f"{m} / {oracle}" for m in cols) + " |",
        "|" + "---|" * (len(cols) + 2),
    ]
    for b, row in wide.iterrows():
        lo, hi = first.loc[b, ["snr_lo", "snr_hi"]]
        n = int(ratios[(ratios["bin"] == b) & (ratios["method"] == NOISY)]["n_paired"].iloc[0])
        cells = ["—" if not np.isfinite(row[m]) else f"{row[m]:.2f}" for m in cols]
        lines.append(f"| {lo:g}–{hi:g} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_table(
    long: pd.DataFrame,
    models: Sequence[str],
    baselines: Sequence[str],
    *,
    oracles: Sequence[str] = (),
    scale: float = 100.0,
) -> str:
    """Wide Markdown table: S/N bins × methods (value × ``scale``, i.e. percent), the best method
    of each bin in bold, and for each model its ratio to the best baseline (< 1: the model wins).
    ``oracles`` (the template fit) get a column but are never the bold winner: they know the
    grid the spectra came from."""
    wide = long.pivot(index="bin", columns="method", values="value")
    ref = long[long["method"] == NOISY].set_index("bin")
    methods = [m for m in [NOISY, *baselines, *models, *oracles] if m in wide.columns]
    header = [
        "S/N bin",
        "N",
        *methods,
        *(f"{m} / best baseline" for m in models if m in wide.columns),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    real_baselines = [b for b in baselines if b in wide.columns and b != "identity"]
    for b, row in wide.iterrows():
        finite = row[[m for m in methods if m != NOISY and m not in oracles]].dropna()
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
    unranked = [m for m in oracles if m in wide.columns]
    not_ranked = (
        f" ({', '.join(f'`{m}`' for m in unranked)} not ranked: it fits the grid the spectra "
        "came from)"
        if unranked
        else ""
    )
    lines.append(
        f"Values: {statistic} over the spectra of each bin of the per-spectrum `{metric}` "
        f"(relative error, ×{scale:g}, i.e. percent); bold = lowest in the bin{not_ranked}; "
        "— = empty bin."
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
    oracle: str | None = None,
    error_paths: Mapping[str, str] | None = None,
    snr_edges: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Read each method's S/N error bins, write the long CSV and the wide Markdown table, each
    with a provenance sidecar. With an ``oracle``, its paired ratios (from the per-spectrum
    ``error_paths`` and ``snr_edges``) join the CSV as ``ratio_to_oracle`` and the Markdown as a
    second table."""
    from pfsdenoise.atomic import atomic_path, write_text_atomic
    from pfsdenoise.evaluate.binning import read_errbins
    from pfsdenoise.provenance import write_sidecar
    from pfsdenoise.shards import read_shard

    bins = {m: read_errbins(p) for m, p in bin_paths.items()}
    long = comparison_table(bins, metric=metric, statistic=statistic)
    oracles = [oracle] if oracle else []
    text = markdown_table(long, models, baselines, oracles=oracles)
    if oracle:
        errors = {m: read_shard(p).params for m, p in (error_paths or {}).items()}
        ratios = oracle_ratios(errors, snr_edges, oracle=oracle, metric=metric)
        keep = ratios[["method", "bin", "n_paired", "ratio"]].rename(
            columns={"ratio": "ratio_to_oracle", "n_paired": "n_paired_oracle"}
        )
        long = long.merge(keep, on=["method", "bin"], how="left")
        long["oracle"] = oracle
        text += "\n" + ratio_markdown(ratios, [*baselines, *models], oracle)
    with atomic_path(csv_path) as tmp:
        long.to_csv(tmp, index=False)
    write_text_atomic(md_path, text)
    for path in (csv_path, md_path):
        write_sidecar(path, provenance)
    return long
