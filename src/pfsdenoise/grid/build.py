"""Build the embedded synthetic grid: one slice per Teff value, then a merge into one grid.

Slices are grids in the common format with a one-node Teff axis, so the merge only stacks
them. A node is a hole when its log g is below the Teff-dependent minimum (``logg_min``),
mimicking the BOSZ/ATLAS9 grids, which have no low-gravity models of hot stars.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pfsdenoise.grid.store import (
    Grid,
    GridFormatError,
    grid_writer,
    log_uniform_wave,
    open_grid,
)
from pfsdenoise.grid.synthetic import ModelParameters, synthetic_spectrum

log = logging.getLogger(__name__)


def grid_wave(wave_min: float, wave_max: float, resolution: float) -> np.ndarray:
    """Vacuum wavelengths sampled at two points per resolution element (d ln lambda = 1/(2R))."""
    if resolution < 20000:
        raise ValueError(f"grid resolution {resolution} < 20000 is too coarse for the MR arm")
    return log_uniform_wave(wave_min, wave_max, 1.0 / (2.0 * resolution))


def logg_minimum(teff: float, table: Sequence[Sequence[float]]) -> float:
    """Smallest log g with a model at ``teff``: first row (teff_max, logg_min) with teff <= teff_max."""
    for teff_max, logg_min in table:
        if teff <= teff_max:
            return float(logg_min)
    return float(table[-1][1])


def build_slice(
    path: str | os.PathLike,
    teff: float,
    axes: Mapping[str, Sequence[float]],
    *,
    wave_min: float,
    wave_max: float,
    resolution: float,
    logg_min: Sequence[Sequence[float]],
    model: Mapping[str, Any] | None = None,
    continuum: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> float:
    """Compute all nodes at one Teff and write them as a one-Teff grid; returns seconds per node.

    ``continuum`` stores the model continuum too (it is pi B(color_ratio Teff), recorded in the
    metadata, so the default leaves it out and halves the grid's size).
    """
    params = ModelParameters.from_config(dict(model or {}))
    wave = grid_wave(wave_min, wave_max, resolution)
    slice_axes = {"teff": [teff], **{k: list(axes[k]) for k in ("logg", "mh", "alpha")}}
    floor = logg_minimum(teff, logg_min)
    start, n_nodes = time.perf_counter(), 0
    meta = {
        "model": params.as_dict(),
        "logg_min": [list(r) for r in logg_min],
        "continuum_model": "pi B_lambda(color_ratio * teff)",
    }
    with grid_writer(
        path,
        slice_axes,
        wave,
        continuum=continuum,
        source="synthetic",
        resolution=resolution,
        metadata=meta,
        provenance=provenance,
    ) as writer:
        for i, logg in enumerate(slice_axes["logg"]):
            if logg < floor - 1e-9:
                continue
            for j, mh in enumerate(slice_axes["mh"]):
                for k, alpha in enumerate(slice_axes["alpha"]):
                    flux, cont = synthetic_spectrum(wave, teff, logg, mh, alpha, params)
                    writer.set_node((0, i, j, k), flux, cont if continuum else None)
                    n_nodes += 1
        per_node = (time.perf_counter() - start) / max(n_nodes, 1)
        meta["build_seconds_per_node"] = {f"{teff:g}": per_node}  # read when the writer closes
    log.info("Teff %g: %d nodes, %.3f s per node", teff, n_nodes, per_node)
    return per_node


def _check_same_build(slices: Sequence[Grid]) -> None:
    """Slices are cached intermediates: merge only slices built by the same code from the same
    settings (apart from their Teff), as their provenance records say."""

    def build_of(g: Grid) -> tuple[Any, Any]:
        record = g.metadata.get("provenance") or {}
        config = {k: v for k, v in (record.get("config") or {}).items() if k != "teff"}
        return record.get("code_hash"), config

    first = build_of(slices[0])
    for g in slices[1:]:
        if build_of(g) != first:
            raise GridFormatError(
                f"{g.path} was built by other code or settings than {slices[0].path} (code "
                f"{build_of(g)[0]} vs {first[0]}); rebuild the slices (snakemake --forcerun "
                "grid_slice)"
            )


def merge_slices(
    path: str | os.PathLike,
    slices: Sequence[str | os.PathLike],
    *,
    metadata: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Stack one-Teff slice grids (any order) into one grid, written atomically."""
    grids = sorted((open_grid(s) for s in slices), key=lambda g: g.axes["teff"][0])
    first = grids[0]
    _check_same_build(grids)
    for g in grids:  # every node is copied: verify them all
        g.check_nodes(None, "flux")
        g.check_nodes(None, "continuum")
    for g in grids[1:]:
        for name in ("logg", "mh", "alpha"):
            if not np.array_equal(g.axes[name], first.axes[name]):
                raise GridFormatError(f"{g.path}: axis {name} differs from {first.path}")
        if not np.array_equal(g.wave, first.wave):
            raise GridFormatError(f"{g.path}: wavelength grid differs from {first.path}")
    axes = {"teff": [float(g.axes["teff"][0]) for g in grids]}
    axes.update({k: first.axes[k] for k in ("logg", "mh", "alpha")})
    meta = dict(first.metadata.get("metadata", {}))
    meta["build_seconds_per_node"] = {
        k: v
        for g in grids
        for k, v in g.metadata["metadata"].get("build_seconds_per_node", {}).items()
    }
    meta.update(metadata or {})
    with grid_writer(
        path,
        axes,
        first.wave,
        continuum=first.continuum is not None,
        source=first.metadata["source"],
        resolution=first.metadata["resolution"],
        metadata=meta,
        provenance=provenance,
    ) as writer:
        for t, g in enumerate(grids):
            for index in zip(*np.nonzero(g.valid), strict=True):
                cont = None if g.continuum is None else g.continuum[index]
                writer.set_node((t, *index[1:]), g.flux[index], cont)
