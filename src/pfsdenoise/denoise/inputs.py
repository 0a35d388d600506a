"""What a reader hands to the denoiser: the spectra of one file, their units, identities and
where they sit in the file; the reading options; selection by targetId, objId or fiberId."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from pfsdenoise.denoise.masks import DEFAULT_REJECT

ID_KEYS = ("targetId", "objId", "fiberId", "spectrum_id")
"""Identities a spectrum may carry (``fiberId`` is a list: a coadd has one per visit)."""


@dataclass
class ReadOptions:
    """How to read input files (the ``pfsdenoise denoise`` options; None = from the file)."""

    product: str = "auto"
    wave_unit: str | None = None
    flux_unit: str | None = None
    air: bool = False
    mask_planes: tuple[str, ...] = DEFAULT_REJECT
    mask_column: str | None = None
    wave_column: str = "WAVELENGTH"
    flux_column: str = "FLUX"
    error_column: str | None = None


@dataclass
class InputSpectra:
    """The spectra of one file in its own units, one 1-D array each (lengths may differ).

    ``sigma`` is 1σ (variances were square-rooted on reading, see ``notes``); ``mask`` True =
    rejected pixel. ``extra``: what the writer of this format needs. ``rows``: position of each
    spectrum among the file's ``n_rows`` (the writer puts results there; default: all, in
    order).
    """

    path: Path
    product: str
    wave: list[np.ndarray]
    flux: list[np.ndarray]
    sigma: list[np.ndarray]
    mask: list[np.ndarray]
    wave_unit: u.UnitBase
    flux_unit: u.UnitBase | None
    air: bool
    ids: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    rows: list[int] | None = None
    n_rows: int | None = None

    def __post_init__(self) -> None:
        """Spectra in file order unless ``rows`` says otherwise."""
        if self.rows is None:
            self.rows = list(range(len(self.flux)))
        if self.n_rows is None:
            self.n_rows = len(self.rows)

    def __len__(self) -> int:
        return len(self.flux)


def describe(ids: dict[str, Any]) -> str:
    """``targetId=3 objId=0x... fiberId=12`` (what the summary table prints)."""
    parts = []
    for key in ID_KEYS:
        value = ids.get(key)
        if value is None or (isinstance(value, list) and not value):
            continue
        if key == "objId":
            value = f"0x{int(value):016x}"
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts) or "-"


def select(
    spectra: InputSpectra,
    target_ids: Iterable[int] = (),
    obj_ids: Iterable[int] = (),
    fiber_ids: Iterable[int] = (),
) -> InputSpectra:
    """The spectra whose targetId, objId or fiberId is among those given (all when none is)."""
    wanted = {"targetId": set(target_ids), "objId": set(obj_ids), "fiberId": set(fiber_ids)}
    if not any(wanted.values()):
        return spectra
    for key, values in wanted.items():
        if values and not any(ids.get(key) is not None for ids in spectra.ids):
            raise ValueError(
                f"{spectra.path}: a {spectra.product} file has no {key} to select by"
                + (
                    " (objIds of pfsArm/pfsMerged fibres are in the pfsConfig file; select by "
                    "--fiber-id)"
                    if key == "objId"
                    else ""
                )
            )

    def chosen(ids: dict[str, Any]) -> bool:
        for key, values in wanted.items():
            have = ids.get(key)
            have = set(have) if isinstance(have, list) else {have}
            if values & have:
                return True
        return False

    keep = [i for i, ids in enumerate(spectra.ids) if chosen(ids)]

    def pick(items: list) -> list:
        return [items[i] for i in keep]

    return replace(
        spectra,
        wave=pick(spectra.wave),
        flux=pick(spectra.flux),
        sigma=pick(spectra.sigma),
        mask=pick(spectra.mask),
        ids=pick(spectra.ids),
        rows=pick(spectra.rows),
    )
