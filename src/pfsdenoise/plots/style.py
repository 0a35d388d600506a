"""Shared figure conventions: axis labels with units, method colours, atomic PNG+PDF output."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from pfsdenoise.atomic import atomic_path
from pfsdenoise.provenance import write_sidecar

PARAM_LABELS = {
    "snr": "S/N per pixel (median over the arm)",
    "teff": r"$T_\mathrm{eff}$ [K]",
    "logg": r"$\log g$ [dex]",
    "mh": "[M/H] [dex]",
    "alpha": r"[$\alpha$/M] [dex]",
    "rv": "radial velocity [km/s]",
    "ebv": "E(B−V) [mag]",
    "mag": "magnitude [AB mag]",
    "moon_phase": "Moon phase (0 = new)",
    "moon_separation": "Moon–target separation [deg]",
    "moon_zenith_angle": "Moon zenith angle [deg]",
    "airmass": "airmass",
}
"""Axis label (with unit) of each binned column."""

NOISY_STYLE = {"color": "0.45", "linestyle": "--", "marker": "", "label": "noisy input"}


def param_label(column: str) -> str:
    return PARAM_LABELS.get(column, column)


def method_colours(methods: Sequence[str]) -> dict[str, Any]:
    """A stable colour per method (tab10 in the given order)."""
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def save_figure(
    fig: Figure,
    outputs: Iterable[str | os.PathLike],
    *,
    provenance: Mapping[str, Any],
    dpi: int,
) -> None:
    """Save ``fig`` to every output (format from the suffix) atomically, each with the
    sidecar provenance record, so ``pfsdenoise provenance <figure>`` walks back."""
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=os.fspath(out).rsplit(".", 1)[-1], bbox_inches="tight")
        write_sidecar(out, provenance)
    plt.close(fig)
