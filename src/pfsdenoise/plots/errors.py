"""Binned error figures: the paper's Fig. 1 (2×2) and the error ratio to the noisy input vs S/N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from pfsdenoise.plots import FIG1_PARAMS
from pfsdenoise.plots.style import NOISY_STYLE, method_colours, param_label


def _curve(
    ax: Axes,
    bins: pd.DataFrame,
    metric: str,
    statistic: str,
    intervals: bool,
    scale: float,
    **style,
) -> None:
    sub = bins[(bins["metric"] == metric)].sort_values("bin")
    if sub.empty:
        raise KeyError(f"error bins have no metric {metric!r}")
    x = np.where(np.isfinite(sub["x_median"]), sub["x_median"], sub["centre"])
    y = sub[statistic].to_numpy() * scale
    ax.plot(x, y, marker=style.pop("marker", "o"), ms=3.5, **style)
    lo_col, hi_col = f"{statistic}_lo", f"{statistic}_hi"
    if intervals and lo_col in sub:
        ax.fill_between(
            x, sub[lo_col] * scale, sub[hi_col] * scale, color=style.get("color"), alpha=0.18, lw=0
        )


def _log_snr_axis(ax: Axes) -> None:
    """Logarithmic S/N axis with plain numbers (1, 2, 5, 10, …) instead of 2×10⁰ labels."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def fig1(
    bins: Mapping[str, Mapping[str, pd.DataFrame]],
    *,
    statistic: str,
    intervals: bool,
    log_error: bool,
    show_noisy: bool,
    width: float,
    params: Sequence[str] = FIG1_PARAMS,
) -> Figure:
    """Average (solid) and maximum (dotted) relative error per bin of S/N, Teff, log g, [M/H].

    ``bins[method][param]`` is an error-bin table of :func:`pfsdenoise.evaluate.binning
    .bin_statistics`. The noisy input (dashed grey) comes from the first method's table.
    """
    methods = list(bins)
    colours = method_colours(methods)
    fig = Figure(figsize=(width, width * 0.72), layout="constrained")
    axes = fig.subplots(2, 2, sharey=True).ravel()
    for ax, param in zip(axes, params, strict=False):
        for m in methods:
            _curve(
                ax,
                bins[m][param],
                "rel_mean",
                statistic,
                intervals,
                100,
                color=colours[m],
                label=f"{m} (average)",
            )
            _curve(
                ax,
                bins[m][param],
                "rel_max",
                statistic,
                False,
                100,
                color=colours[m],
                linestyle=":",
                marker="",
                label=f"{m} (maximum)",
            )
        if show_noisy:
            ref = bins[methods[0]][param]
            _curve(ax, ref, "noisy_rel_mean", statistic, False, 100, **NOISY_STYLE)
        ax.set_xlabel(param_label(param))
        ax.set_ylabel("relative error [%]")
        if log_error:
            ax.set_yscale("log")
        if param == "snr":
            _log_snr_axis(ax)
        ax.grid(alpha=0.3, which="both", lw=0.5)
    axes[0].legend(fontsize=7, ncol=1 if len(methods) < 3 else 2)
    title = methods[0] if len(methods) == 1 else "all methods"
    fig.suptitle(f"Relative error of denoised spectra vs parameters ({title}; {statistic} per bin)")
    return fig


def ratio_vs_snr(
    bins: Mapping[str, pd.DataFrame],
    *,
    statistic: str,
    intervals: bool,
    width: float,
) -> Figure:
    """Per-spectrum ratio of the denoised to the noisy input's mean relative error vs S/N
    (below 1: the method removes error; above 1: it adds more than it removes)."""
    methods = list(bins)
    colours = method_colours(methods)
    fig = Figure(figsize=(width, width * 0.62), layout="constrained")
    ax = fig.subplots()
    for m in methods:
        _curve(ax, bins[m], "ratio_mean", statistic, intervals, 1.0, color=colours[m], label=m)
    ax.axhline(1.0, **{**NOISY_STYLE, "label": "noisy input (ratio 1)"})
    _log_snr_axis(ax)
    ax.set_yscale("log")
    ax.set_xlabel(param_label("snr"))
    ax.set_ylabel("mean relative error / noisy input's (ratio)")
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(fontsize=8)
    ax.set_title(f"Error relative to the noisy input ({statistic} per S/N bin)")
    return fig
