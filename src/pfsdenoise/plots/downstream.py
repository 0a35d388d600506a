"""Downstream figure: robust scatter of recovered RV and stellar parameters vs S/N, per source,
against the Cramér–Rao bound of the noisy data."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pfsdenoise.plots.errors import _log_snr_axis
from pfsdenoise.plots.style import NOISY_STYLE, method_colours, save_figure
from pfsdenoise.tempfit.recovery import NOISY, REPORTED

PANEL_LABELS = {"rv": "RV scatter [km/s]", "teff": r"$T_\mathrm{eff}$ scatter [K]",
                "logg": r"$\log g$ scatter [dex]", "mh": "[M/H] scatter [dex]"}  # fmt: skip


def recovery_figure(
    recovery: pd.DataFrame,
    *,
    params: Sequence[str] = REPORTED,
    noisy: str = NOISY,
    width: float = 9.0,
) -> Figure:
    """2×2 panels: robust scatter per S/N bin of each source's estimates (noisy input dashed
    grey), and the median Cramér–Rao bound (black dotted)."""
    fig = Figure(figsize=(width, width * 0.75), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    sources = [s for s in recovery["source"].unique() if s != noisy]
    colours = method_colours(sources)
    for ax, p in zip(axes, params, strict=False):
        sub = recovery[(recovery["param"] == p) & (recovery["n"] > 0)]
        for source in [noisy, *sources]:
            s = sub[sub["source"] == source].sort_values("bin")
            x = np.sqrt(s["snr_lo"] * s["snr_hi"])
            if source == noisy:
                style = NOISY_STYLE
            else:
                style = {"color": colours[source], "marker": "o", "label": source}
            ax.plot(x, s["scatter"], ms=3.5, **style)
        ref = sub[sub["source"] == noisy].sort_values("bin")
        ax.plot(np.sqrt(ref["snr_lo"] * ref["snr_hi"]), ref["crb"], color="k", ls=":",
                label="Cramér–Rao bound")  # fmt: skip
        _log_snr_axis(ax)
        ax.set_yscale("log")
        ax.set_xlabel("S/N per pixel (bin centre)")
        ax.set_ylabel(PANEL_LABELS.get(p, p))
    axes[0].legend(fontsize="small", ncols=2)
    return fig


def downstream_files(
    recovery_csv: str,
    outputs: Sequence[str | os.PathLike],
    *,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> None:
    """Recovered RV and parameters: robust scatter vs S/N against the Cramér–Rao bound."""
    fig = recovery_figure(pd.read_csv(recovery_csv), width=options["width"])
    save_figure(fig, outputs, provenance=provenance, dpi=options["dpi"])
