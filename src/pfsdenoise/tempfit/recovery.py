"""Velocity and parameter recovery per S/N bin: the downstream table (docs/evaluation.md).

Sources: ``noisy input`` (the oracle's fit of the noisy spectra with their σ) and every method's
fit of its denoised output (:func:`.produce.fit_method_shard`). Per source, S/N bin and
parameter, over the spectra fitted there:

- ``converged``: fraction of fits with status ok (the others are never used below);
- ``bias``: median of estimate − truth (robust);
- ``scatter``: 1.4826 × median absolute deviation of estimate − truth about its median;
- ``crb``: median Cramér–Rao 1σ at the truth (the forward model's Fisher matrix, noisy data);
- ``scatter_crb``: scatter / crb (1: the bound is reached; a biased estimator may go below it);
- ``outliers``: fraction with |estimate − truth| > ``outlier_nsigma`` × that spectrum's bound.

The seeded comparison asks whether a fit of the noisy data started from the denoised fit
converges more often or in fewer steps than the blind fit (scan + optimizer), and whether it
ends in the same minimum (|Δχ²| ≤ 1), a lower or a higher one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pfsdenoise.tempfit.columns import NOT_FITTED, PARAMS, SEEDED

NOISY = "noisy input"
MAD_TO_SIGMA = 1.4826
"""σ of a Gaussian per unit median absolute deviation (1 / Φ⁻¹(3/4))."""
REPORTED = ("rv", "teff", "logg", "mh")
"""Parameters of the Markdown table and the figure (the CSV has all of PARAMS)."""
SAME_MINIMUM = 1.0
"""|Δχ²| up to which two fits count as the same minimum (the 1σ contour of one parameter)."""
LABELS = {"rv": "RV [km/s]", "teff": "Teff [K]", "logg": "log g [dex]", "mh": "[M/H] [dex]",
          "alpha": "[α/M] [dex]"}  # fmt: skip


def robust_scatter(values: np.ndarray) -> float:
    """1.4826 × median |x − median x| (NaN for no values)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def _bins(snr: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.float64)
    idx = np.searchsorted(edges, snr, side="right") - 1
    idx[snr == edges[-1]] = edges.size - 2
    idx[(idx < 0) | (idx >= edges.size - 1) | ~np.isfinite(snr)] = -1
    return idx


def recovery_table(
    sources: Mapping[str, pd.DataFrame],
    crb: pd.DataFrame,
    edges: Sequence[float],
    *,
    outlier_nsigma: float,
    params: Sequence[str] = PARAMS,
) -> pd.DataFrame:
    """Long table, one row per (source, S/N bin, parameter) (module docstring).

    ``sources`` maps a label to a fit table (truth, ``snr``, ``status``, ``<p>_fit``); ``crb``
    holds ``spectrum_id`` and ``crb_<p>`` (the oracle's fit tables).
    """
    rows = []
    bound = crb.set_index("spectrum_id")
    for label, frame in sources.items():
        fitted = frame[frame["status"] != NOT_FITTED]
        b = _bins(fitted["snr"].to_numpy(dtype=np.float64), edges)
        ok = fitted["status"].to_numpy() == "ok"
        for k in range(len(edges) - 1):
            sel = b == k
            for p in params:
                err = (fitted[f"{p}_fit"] - fitted[p]).to_numpy(dtype=np.float64)
                sigma = bound.loc[fitted["spectrum_id"], f"crb_{p}"].to_numpy(dtype=np.float64)
                use = sel & ok
                e, s = err[use], sigma[use]
                finite = np.isfinite(s) & (s > 0)
                scatter = robust_scatter(e)
                median_crb = float(np.median(s[finite])) if finite.any() else np.nan
                rows.append(
                    {
                        "source": label,
                        "bin": k,
                        "snr_lo": edges[k],
                        "snr_hi": edges[k + 1],
                        "param": p,
                        "n": int(sel.sum()),
                        "converged": float(ok[sel].mean()) if sel.any() else np.nan,
                        "bias": float(np.median(e)) if e.size else np.nan,
                        "scatter": scatter,
                        "crb": median_crb,
                        "scatter_crb": scatter / median_crb if median_crb > 0 else np.nan,
                        "outliers": float(np.mean(np.abs(e[finite]) > outlier_nsigma * s[finite]))
                        if finite.any()
                        else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def seeded_table(
    blind: pd.DataFrame, seeded: Mapping[str, pd.DataFrame], edges: Sequence[float]
) -> pd.DataFrame:
    """Per (start, S/N bin): convergence, iterations and evaluations, and where the seeded fit
    ends relative to the blind one (same / lower / higher minimum, |Δχ²| ≤ 1 being the same)."""
    base = blind.set_index("spectrum_id")
    rows = []
    starts = {"blind (scan)": (blind, "")}
    starts.update({f"from {m}": (f, SEEDED) for m, f in seeded.items()})
    for label, (frame, pre) in starts.items():
        fitted = frame[frame[f"{pre}status"] != NOT_FITTED]
        b = _bins(fitted["snr"].to_numpy(dtype=np.float64), edges)
        ok = fitted[f"{pre}status"].to_numpy() == "ok"
        ref = base.loc[fitted["spectrum_id"]]
        both = ok & (ref["status"].to_numpy() == "ok")
        delta = fitted[f"{pre}chi2"].to_numpy(dtype=np.float64) - ref["chi2"].to_numpy(
            dtype=np.float64
        )
        rv_err = (fitted[f"{pre}rv_fit"] - fitted["rv"]).to_numpy(dtype=np.float64)
        for k in range(len(edges) - 1):
            sel = b == k
            cmp = sel & both
            rows.append(
                {
                    "start": label,
                    "bin": k,
                    "snr_lo": edges[k],
                    "snr_hi": edges[k + 1],
                    "n": int(sel.sum()),
                    "converged": float(ok[sel].mean()) if sel.any() else np.nan,
                    "n_iter": float(fitted[f"{pre}n_iter"].to_numpy()[sel & ok].mean())
                    if (sel & ok).any()
                    else np.nan,
                    "n_eval": float(fitted[f"{pre}n_eval"].to_numpy()[sel].mean())
                    if sel.any()
                    else np.nan,
                    "same": float(np.mean(np.abs(delta[cmp]) <= SAME_MINIMUM))
                    if cmp.any()
                    else np.nan,
                    "lower": float(np.mean(delta[cmp] < -SAME_MINIMUM)) if cmp.any() else np.nan,
                    "higher": float(np.mean(delta[cmp] > SAME_MINIMUM)) if cmp.any() else np.nan,
                    "rv_scatter": robust_scatter(rv_err[sel & ok]),
                }
            )
    return pd.DataFrame(rows)


def _num(v: float, fmt: str = "{:.3g}") -> str:
    return "—" if not np.isfinite(v) else fmt.format(v)


def _pct(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{100 * v:.0f}"


def markdown(
    recovery: pd.DataFrame,
    seeded: pd.DataFrame,
    *,
    params: Sequence[str],
    outlier_nsigma: float,
    sigma_note: str,
) -> str:
    """The downstream tables in Markdown: one recovery table per parameter, then the seeded
    comparison."""
    out = [
        "# Downstream: velocities and stellar parameters from template fits",
        "",
        "Fits of the noisy input (with its σ) and of each method's denoised output "
        f"({sigma_note}). bias = median error, scatter = 1.4826 MAD, CRB = median Cramér–Rao "
        "1σ of the noisy data at the truth, outliers = |error| > "
        f"{outlier_nsigma:g} × CRB; errors over converged fits only. — = no spectra.",
        "",
    ]
    for p in params:
        sub = recovery[recovery["param"] == p]
        out += [
            f"## {LABELS.get(p, p)}",
            "",
            "| S/N | source | N | converged % | bias | scatter | CRB | scatter / CRB | outliers % |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in sub[sub["n"] > 0].iterrows():
            out.append(
                f"| {r.snr_lo:g}–{r.snr_hi:g} | {r.source} | {r.n} | {_pct(r.converged)} | "
                f"{_num(r.bias)} | {_num(r.scatter)} | {_num(r.crb)} | "
                f"{_num(r.scatter_crb, '{:.2f}')} | {_pct(r.outliers)} |"
            )
        out.append("")
    out += [
        "## Fits of the noisy input: blind (scan + optimizer) vs started from the denoised fit",
        "",
        "iterations: optimizer steps of converged fits; evaluations: model evaluations (a blind "
        "fit also pays the scan); same / lower / higher: final χ² within 1 of the blind fit's, "
        "below or above it (fits that converged in both).",
        "",
        "| S/N | start | N | converged % | iterations | evaluations | same % | lower % | "
        "higher % | RV scatter |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in seeded[seeded["n"] > 0].iterrows():
        out.append(
            f"| {r.snr_lo:g}–{r.snr_hi:g} | {r.start} | {r.n} | {_pct(r.converged)} | "
            f"{_num(r.n_iter, '{:.1f}')} | {_num(r.n_eval, '{:.1f}')} | {_pct(r.same)} | "
            f"{_pct(r.lower)} | {_pct(r.higher)} | {_num(r.rv_scatter)} |"
        )
    return "\n".join(out) + "\n"


def _read_tables(paths: Sequence[str]) -> pd.DataFrame:
    from pfsdenoise.shards import read_shard

    return pd.concat([read_shard(p).params for p in paths], ignore_index=True)


def write_downstream(
    oracle_paths: Sequence[str],
    method_paths: Mapping[str, Sequence[str]],
    outputs: Mapping[str, str],
    *,
    edges: Sequence[float],
    outlier_nsigma: float,
    sigma_note: str,
    provenance: Mapping,
    params: Sequence[str] = REPORTED,
) -> pd.DataFrame:
    """Read the fit tables, write ``outputs['csv']`` (recovery, long), ``outputs['seeded']``
    (seeded comparison, CSV) and ``outputs['md']``, each with a provenance sidecar."""
    from pfsdenoise.atomic import atomic_path, write_text_atomic
    from pfsdenoise.provenance import write_sidecar

    oracle = _read_tables(oracle_paths)
    methods = {m: _read_tables(p) for m, p in method_paths.items()}
    sources = {NOISY: oracle, **methods}
    crb = oracle[["spectrum_id", *(f"crb_{p}" for p in PARAMS)]]
    recovery = recovery_table(sources, crb, edges, outlier_nsigma=outlier_nsigma)
    seeded = seeded_table(oracle, methods, edges)
    for key, frame in (("csv", recovery), ("seeded", seeded)):
        with atomic_path(outputs[key]) as tmp:
            frame.to_csv(tmp, index=False)
    text = markdown(
        recovery, seeded, params=params, outlier_nsigma=outlier_nsigma, sigma_note=sigma_note
    )
    write_text_atomic(outputs["md"], text)
    for path in outputs.values():
        write_sidecar(path, provenance)
    return recovery
