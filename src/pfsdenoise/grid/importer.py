"""Import model spectra that a user downloaded (BOSZ, PHOENIX-ACES, BT-Settl) into the grid format.

What differs between the grids is in their :class:`~pfsdenoise.grid.sources.Source` (file
names, file formats, units); the steps here are common to all:

1. **Discovery**: candidate files under the folder, recursively. A name that does not parse is
   skipped and recorded; a file outside the configured axis ranges is left out. Two files with
   the same parameters are an error.
2. **Axes**: every parameter value found; nodes without a file are holes.
3. **Resolution**: a resolving power stated by the names below R = 20 000 (what the MR arm
   needs, SCIENCE.md §5), or several of them, is an error before anything is read.
4. **Medium**: air or vacuum from the Ca II triplet of the readable file of Teff nearest
   5000 K, checked against what the source declares; air wavelengths are converted to vacuum.
5. **Target**: log-uniform vacuum wavelengths over [wave_min, wave_max] with d ln λ the
   coarser of the files' own step and 1/(2 ``resolution``); where the files already are that
   grid their samples are kept as they are, otherwise fluxes are rebinned conserving flux
   (:func:`pfsdenoise.grid.resample.rebin`).
6. **Per file**: coverage of the range, sampling of R ≥ 20 000 throughout it, finite and
   non-negative flux (positive continuum). A file failing one is skipped, recorded in the
   manifest's ``metadata.skipped`` with the reason, and its node left a hole: one bad file never
   stops the others. If no file is left the import fails, naming why.
7. **Writing** through :func:`pfsdenoise.grid.store.grid_writer`: a failed import leaves no
   grid behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.grid.bosz import Bosz
from pfsdenoise.grid.btsettl import BtSettl
from pfsdenoise.grid.phoenix import Phoenix
from pfsdenoise.grid.resample import pixel_edges, rebin, sampling_resolution
from pfsdenoise.grid.sources import (
    MIN_RESOLUTION,
    GridImportError,
    ModelFile,
    Source,
    Spectrum,
)
from pfsdenoise.grid.store import LOG_UNIFORM_RTOL, grid_writer, log_uniform_wave
from pfsdenoise.grid.wavelength import air_to_vacuum, medium_from_ca_triplet

log = logging.getLogger(__name__)

SOURCES: dict[str, type[Source]] = {"bosz": Bosz, "phoenix": Phoenix, "btsettl": BtSettl}
# A target step within this fraction of the files' own log-uniform step keeps their samples.
SAME_STEP_RTOL = 1e-3


def make_source(name: str, options: Mapping[str, Any]) -> Source:
    """The source called ``name`` (config ``grid.source``) with its options (``grid.<name>``)."""
    if name not in SOURCES:
        raise ValueError(f"grid source {name!r} is not one of {sorted(SOURCES)}")
    try:
        return SOURCES[name](**options)
    except TypeError as err:
        raise ValueError(f"grid.{name}: {err}") from err


def scan(directory: Path, source: Source) -> tuple[list[ModelFile], list[str]]:
    """Model files under ``directory`` (recursively), and the names skipped with a reason."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{source.label} directory {directory} does not exist (grid.{source.key}.directory)"
        )
    candidates = sorted({p for pattern in source.patterns for p in directory.rglob(pattern)})
    files, skipped = [], []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            parsed = source.parse(path)
        except GridImportError as err:
            log.warning("skipping %s", err)
            skipped.append(str(err))
            continue
        if parsed is not None:
            files.append(parsed)
    if not files:
        raise GridImportError(
            f"no {source.label} model files under {directory} ({len(candidates)} candidate "
            f"files, {len(skipped)} with unparsable names)"
        )
    return files, skipped


def _select(
    files: list[ModelFile], axes: Mapping[str, Sequence[float]] | None, where: str
) -> list[ModelFile]:
    """Files inside the configured axis ranges, with distinct parameters."""
    if axes:
        lo = np.array([min(axes[a]) for a in STELLAR_AXES]) - 1e-9
        hi = np.array([max(axes[a]) for a in STELLAR_AXES]) + 1e-9
        files = [f for f in files if np.all((lo <= f.params) & (f.params <= hi))]
        if not files:
            raise GridImportError(f"no model file under {where} lies inside the configured axes")
    by_params: dict[tuple, ModelFile] = {}
    for f in files:
        if f.params in by_params:
            raise GridImportError(
                f"{f.path} and {by_params[f.params].path} have the same parameters"
            )
        by_params[f.params] = f
    return sorted(files, key=lambda f: f.params)


def _check_stated_resolution(files: Sequence[ModelFile], source: Source) -> None:
    """Refuse files whose names state too low a resolving power, or several."""
    stated = {f.resolution for f in files if f.resolution is not None}
    if len(stated) > 1:
        raise GridImportError(
            f"{source.label} files of several resolutions {sorted(stated)}: keep one per folder"
        )
    if stated and (r := stated.pop()) < MIN_RESOLUTION:
        raise GridImportError(
            f"{source.label} files have R = {r:.0f} (e.g. {files[0].path.name}): the MR arm "
            f"needs R >= {MIN_RESOLUTION}{source.hint}"
        )


# Teff of the file the medium is found from: a G/K star has a strong Ca II triplet and no
# molecular bands near it (TiO at 8432-8452 A in M stars could pass for a line minimum).
REFERENCE_TEFF = 5000.0


def _reference(files: Sequence[ModelFile], source: Source) -> tuple[ModelFile, Spectrum]:
    """The readable file of Teff nearest :data:`REFERENCE_TEFF` (for the medium)."""
    first_error = None
    for f in sorted(files, key=lambda f: (abs(f.params[0] - REFERENCE_TEFF), f.params)):
        try:
            return f, source.load(f)
        except GridImportError as err:
            first_error = first_error or err
    raise GridImportError(f"no {source.label} file could be read; the first: {first_error}")


def _medium(model: ModelFile, spectrum: Spectrum, source: Source) -> str:
    """'air' or 'vacuum': from the Ca II triplet, checked against the source's declaration."""
    shape = spectrum.flux if spectrum.continuum is None else spectrum.flux / spectrum.continuum
    try:
        found = medium_from_ca_triplet(spectrum.wave, shape)
    except ValueError as err:
        if source.medium != "auto":
            log.info("%s: %s; taking the declared %s wavelengths", model.path, err, source.medium)
            return source.medium
        raise GridImportError(f"{model.path}: {err}") from err
    if source.medium not in ("auto", found):
        raise GridImportError(
            f"{model.path}: the Ca II triplet lies at {found} wavelengths, but {source.label} "
            f"wavelengths are {source.medium}: wrong wavelength file, or wrong "
            f"grid.{source.key} settings?"
        )
    return found


def _vacuum(wave: np.ndarray, medium: str) -> np.ndarray:
    return air_to_vacuum(wave) if medium == "air" else wave


def _target(
    spectrum: Spectrum,
    medium: str,
    wave_min: float,
    wave_max: float,
    resolution: float | None,
    where: Path,
) -> tuple[np.ndarray, float, bool]:
    """Target wavelengths, their d ln λ, and whether they are the files' own samples."""
    wave = _vacuum(spectrum.wave, medium)
    inside = wave[(wave >= wave_min) & (wave <= wave_max)]
    if inside.size < 2:
        raise GridImportError(
            f"{where}: covers {wave[0]:.1f}-{wave[-1]:.1f} A, not the grid range "
            f"{wave_min}-{wave_max} A"
        )
    steps = np.diff(np.log(inside))
    native = float(np.median(steps))
    wanted = native if resolution is None else 1.0 / (2.0 * resolution)
    if wanted <= native * (1 + SAME_STEP_RTOL):
        uniform = np.max(np.abs(steps - native)) <= LOG_UNIFORM_RTOL * native
        if medium == "vacuum" and uniform:  # the files' own samples are the grid
            return inside[0] * np.exp(native * np.arange(inside.size)), native, True
        wanted = native
    return log_uniform_wave(wave_min, wave_max, wanted), wanted, False


def _window(wave: np.ndarray, lo: float, hi: float) -> slice:
    """The samples that span [lo, hi]: those inside and one beyond each end."""
    first = max(int(np.searchsorted(wave, lo, side="right")) - 1, 0)
    last = min(int(np.searchsorted(wave, hi, side="left")), len(wave) - 1)
    return slice(first, last + 1)


def _node(
    source: Source, model: ModelFile, medium: str, target: np.ndarray, native: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """One file's flux (and continuum) on the target, after the per-file checks."""
    spectrum = source.load(model)
    wave = _vacuum(spectrum.wave, medium)
    lo, hi = (target[0], target[-1]) if native else pixel_edges(target)[[0, -1]]
    if wave[0] > lo * (1 + 1e-9) or wave[-1] < hi * (1 - 1e-9):
        raise GridImportError(
            f"{model.path}: covers {wave[0]:.1f}-{wave[-1]:.1f} A, not the grid range "
            f"{target[0]:.1f}-{target[-1]:.1f} A"
        )
    window = _window(wave, lo, hi)
    w = wave[window]
    r = sampling_resolution(w)
    if r.min() < MIN_RESOLUTION:
        at = 0.5 * (w[np.argmin(r)] + w[np.argmin(r) + 1])
        raise GridImportError(
            f"{model.path}: sampled for R = {r.min():.0f} at {at:.1f} A; the MR arm needs "
            f"R >= {MIN_RESOLUTION}{source.hint}"
        )
    flux = _on_target(model, "flux", spectrum.flux[window], w, target, native, positive=False)
    if spectrum.continuum is None:
        return flux, None
    cont = spectrum.continuum[window]
    return flux, _on_target(model, "continuum", cont, w, target, native, positive=True)


def _on_target(
    model: ModelFile,
    name: str,
    values: np.ndarray,
    wave: np.ndarray,
    target: np.ndarray,
    native: bool,
    positive: bool,
) -> np.ndarray:
    """Checked values resampled onto the target (taken at the samples where they are it)."""
    bad = ~np.isfinite(values) | ((values <= 0) if positive else (values < 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise GridImportError(
            f"{model.path}: NaN or {'non-positive' if positive else 'negative'} {name} "
            f"({values[i]:.3g} at {wave[i]:.2f} A, inside the grid range)"
        )
    return np.interp(target, wave, values) if native else rebin(wave, values, target)


def import_grid(
    source: str,
    directory: str | os.PathLike,
    out: str | os.PathLike,
    *,
    wave_min: float,
    wave_max: float,
    resolution: float | None,
    axes: Mapping[str, Sequence[float]] | None,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Import the ``source`` ("bosz", "phoenix", "btsettl") files under ``directory`` into a
    grid at ``out``.

    ``resolution``: the grid's resolving power; d ln λ = 1/(2 resolution) is the finest step
    kept (None: the files' own). ``axes`` (as in the config) limits each parameter to
    [min, max] of the given values (None: every file). ``options``: the source's settings
    (``grid.<source>`` of the config without ``directory``).
    """
    src = make_source(source, options)
    if directory is None:
        raise ValueError(f"grid.{source}.directory is not set: the folder of downloaded files")
    directory = Path(directory)
    files, skipped = scan(directory, src)
    files = _select(files, axes, str(directory))
    _check_stated_resolution(files, src)
    src.prepare(directory, files)
    reference, spectrum = _reference(files, src)
    medium = _medium(reference, spectrum, src)
    target, step, native = _target(spectrum, medium, wave_min, wave_max, resolution, reference.path)
    stated = [r for r in (reference.resolution, src.resolution) if r]
    if not stated:  # the sampling of the reference file over the range bounds its resolution
        wave = _vacuum(spectrum.wave, medium)
        stated = [float(sampling_resolution(wave[_window(wave, target[0], target[-1])]).min())]
    model_r = min(stated)
    grid_axes = {a: sorted({f.params[d] for f in files}) for d, a in enumerate(STELLAR_AXES)}
    log.info(
        "%d %s files, %s wavelengths, %d points (d ln lambda %.3g)",
        len(files), src.label, medium, len(target), step,
    )  # fmt: skip
    metadata = {
        "directory": str(directory),
        "medium_in_files": medium,
        "native_samples_kept": native,
        "skipped": skipped,
        **src.metadata(),
    }
    with grid_writer(
        out,
        grid_axes,
        target,
        continuum=src.has_continuum,
        source=src.name,
        resolution=min(model_r, round(0.5 / step, 3)),  # the sampling's R, float noise cut
        metadata=metadata,
        provenance=provenance,
    ) as writer:
        failed = []
        for f in files:
            try:
                flux, continuum = _node(src, f, medium, target, native)
            except GridImportError as err:
                log.warning("skipping %s", err)
                failed.append(str(err))
                continue
            writer.set_node(
                writer.index_of(dict(zip(STELLAR_AXES, f.params, strict=True))), flux, continuum
            )
        writer.metadata["skipped"] = skipped + failed
        if not writer.valid.any():
            raise GridImportError(
                f"no {src.label} file under {directory} could be imported: {failed[0]}"
            )
