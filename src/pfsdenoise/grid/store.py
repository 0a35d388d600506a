"""The one on-disk spectral grid format, shared by the synthetic build and the importers.

A grid is a folder (layout documented in ``docs/grid.md``)::

    grid.json            manifest: axes, units, wavelength sampling, array files, source, metadata
    grid.json.prov.json  provenance record of the step that wrote the grid
    wave.npy             float64 (n_wave,), vacuum Angstrom, log-uniform
    flux.npy             float32 (*axis sizes, n_wave), surface flux [erg s-1 cm-2 A-1]
    continuum.npy        optional, same shape and unit as flux
    valid.npy            bool (*axis sizes,), False = missing node (its flux is NaN)

Arrays are plain ``.npy`` files opened memory-mapped, so reading one node touches only that
node's pages. Grids are written into a temporary folder and swapped into place complete
(:func:`pfsdenoise.atomic.atomic_dir`): a crashed build never leaves a grid that opens.

The manifest's ``checksums`` hold CRC32s of the rest of the manifest, of the provenance sidecar,
of ``wave.npy`` and ``valid.npy`` (verified on open), and of every node's flux (and continuum)
row, verified the first time the row is used (:meth:`Grid.check_nodes`): a damaged grid is
refused, not interpolated, and a big grid is not read whole by every job that opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import atomic_dir
from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.errors import DamagedFile
from pfsdenoise.provenance import read_record, sidecar_path, to_json, write_sidecar

FORMAT_NAME = "pfsdenoise-grid"
FORMAT_VERSION = 2
"""2: the manifest carries checksums (manifest, sidecar, wave, valid, every node row)."""
MANIFEST = "grid.json"
AXIS_UNITS = {"teff": "K", "logg": "dex (cgs)", "mh": "dex", "alpha": "dex"}
FLUX_UNIT = "erg s-1 cm-2 Angstrom-1"
WAVE_UNIT = "Angstrom"
# Largest relative scatter of d(ln lambda) accepted as "log-uniform" (float64 round-off of a
# rebuilt grid is ~1e-9; printed 3-decimal wavelengths are far worse and must be rebuilt).
LOG_UNIFORM_RTOL = 1e-6


class GridFormatError(ValueError):
    """A grid folder or the arrays handed to the writer do not follow the grid format."""


class DamagedGridError(GridFormatError, DamagedFile):
    """A grid whose files fail their checksums or cannot be read."""


MANIFEST_KEYS = ("axis_names", "axes", "wave", "flux", "valid", "checksums")
REBUILD = "rebuild the grid (delete its folder and rerun its rule) or import it again"


@dataclass(frozen=True)
class Grid:
    """An opened grid: axes, wavelength, memory-mapped flux (read-only) and validity mask."""

    path: Path
    axis_names: tuple[str, ...]
    axes: dict[str, np.ndarray]
    wave: np.ndarray
    log_step: float
    flux: np.ndarray
    continuum: np.ndarray | None
    valid: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    checksums: dict[str, Any] = field(default_factory=dict, repr=False)
    _checked: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def check_nodes(self, nodes: np.ndarray | None = None, array: str = "flux") -> None:
        """Verify the stored checksums of node rows (flat indices in C order of the axes;
        None: all) of ``flux`` or ``continuum``; each row is read for this once per opened grid.
        Raises :class:`DamagedGridError` naming the file and the node."""
        data = self.flux if array == "flux" else self.continuum
        expected = self.checksums.get(array)
        if data is None or expected is None:
            return
        rows = data.reshape(-1, self.n_wave)
        done = self._checked.setdefault(array, np.zeros(len(rows), dtype=bool))
        todo = np.arange(len(rows)) if nodes is None else np.unique(np.asarray(nodes, np.int64))
        for node in todo[~done[todo]]:
            if zlib.crc32(rows[node]) != expected[node]:
                index = np.unravel_index(node, self.shape)
                raise DamagedGridError(
                    f"{self.path / f'{array}.npy'}: damaged: node {tuple(map(int, index))} "
                    f"({self.node_params(index)}) fails its checksum; {REBUILD}"
                )
            done[node] = True

    @property
    def shape(self) -> tuple[int, ...]:
        """Axis sizes, in ``axis_names`` order."""
        return tuple(len(self.axes[a]) for a in self.axis_names)

    @property
    def n_wave(self) -> int:
        return len(self.wave)

    def flux_rows(self) -> np.ndarray:
        """Flux as a (n_nodes, n_wave) view (no copy), nodes in C order of the axes."""
        return self.flux.reshape(-1, self.n_wave)

    def node_params(self, index: Sequence[int]) -> dict[str, float]:
        """Parameters of the node at a multi-index."""
        return {a: float(self.axes[a][i]) for a, i in zip(self.axis_names, index, strict=True)}


def check_log_uniform(wave: np.ndarray, where: str = "wavelength array") -> float:
    """Return Δ ln λ of a log-uniform, increasing wavelength array, or raise naming ``where``."""
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1 or len(wave) < 2:
        raise GridFormatError(f"{where}: need a 1-D array of >= 2 wavelengths, got {wave.shape}")
    if not np.all(np.isfinite(wave)) or wave[0] <= 0:
        raise GridFormatError(f"{where}: wavelengths must be finite and positive")
    steps = np.diff(np.log(wave))
    step = float(np.mean(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > LOG_UNIFORM_RTOL * step:
        raise GridFormatError(
            f"{where}: not log-uniform (d ln lambda from {steps.min():.3e} to {steps.max():.3e}); "
            "rebuild it with log_uniform_wave()"
        )
    return step


def log_uniform_wave(start: float, stop: float, log_step: float) -> np.ndarray:
    """Log-uniform wavelengths from ``start`` covering at least up to ``stop`` (Angstrom)."""
    n = int(np.ceil(np.log(stop / start) / log_step - 1e-9)) + 1
    return start * np.exp(log_step * np.arange(n))


def _check_axes(axes: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    if tuple(axes) != STELLAR_AXES:
        raise GridFormatError(f"grid axes must be {STELLAR_AXES} in this order, got {tuple(axes)}")
    out = {}
    for name, values in axes.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1 or len(arr) < 1 or not np.all(np.isfinite(arr)):
            raise GridFormatError(f"axis {name!r}: need a non-empty 1-D finite array, got {values}")
        if np.any(np.diff(arr) <= 0):
            raise GridFormatError(f"axis {name!r}: values must be strictly increasing: {arr}")
        out[name] = arr
    return out


class GridWriter:
    """Fills the arrays of a grid being written; obtained from :func:`grid_writer`."""

    def __init__(
        self, folder: Path, axes: dict[str, np.ndarray], wave: np.ndarray, continuum: bool
    ):
        self.folder = folder
        self.axes = axes
        self.wave = wave
        self.shape = tuple(len(v) for v in axes.values())
        full = (*self.shape, len(wave))
        self.flux = np.lib.format.open_memmap(
            folder / "flux.npy", mode="w+", dtype=np.float32, shape=full
        )
        self.flux[...] = np.nan
        self.continuum = None
        if continuum:
            self.continuum = np.lib.format.open_memmap(
                folder / "continuum.npy", mode="w+", dtype=np.float32, shape=full
            )
            self.continuum[...] = np.nan
        self.valid = np.zeros(self.shape, dtype=bool)
        self.metadata: dict[str, Any] = {}

    def index_of(self, params: Mapping[str, float]) -> tuple[int, ...]:
        """Multi-index of the node with these parameters (exact match within 1e-6)."""
        index = []
        for name, values in self.axes.items():
            hit = np.flatnonzero(np.abs(values - float(params[name])) < 1e-6)
            if len(hit) != 1:
                raise GridFormatError(f"{name}={params[name]} is not a node of axis {values}")
            index.append(int(hit[0]))
        return tuple(index)

    def set_node(
        self, index: Sequence[int], flux: np.ndarray, continuum: np.ndarray | None = None
    ) -> None:
        """Store one node's spectrum (and continuum); validates finiteness and sign."""
        index = tuple(int(i) for i in index)
        flux = np.asarray(flux, dtype=np.float32)
        if flux.shape != (len(self.wave),):
            raise GridFormatError(
                f"node {index}: flux has shape {flux.shape}, need ({len(self.wave)},)"
            )
        if not np.all(np.isfinite(flux)) or np.any(flux < 0):
            raise GridFormatError(f"node {index}: flux has NaN, infinite or negative values")
        self.flux[index] = flux
        if self.continuum is not None:
            if continuum is None:
                raise GridFormatError(f"node {index}: this grid stores a continuum; none given")
            cont = np.asarray(continuum, dtype=np.float32)
            if cont.shape != flux.shape or not np.all(np.isfinite(cont)) or np.any(cont <= 0):
                raise GridFormatError(f"node {index}: continuum has wrong shape or bad values")
            self.continuum[index] = cont
        self.valid[index] = True


@contextlib.contextmanager
def grid_writer(
    path: str | os.PathLike,
    axes: Mapping[str, Sequence[float]],
    wave: np.ndarray,
    *,
    continuum: bool = False,
    source: str,
    resolution: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Iterator[GridWriter]:
    """Write a grid atomically: fill nodes with ``writer.set_node``; unset nodes are holes.

    ``resolution`` is the resolving power λ/Δλ of the model spectra (not of the sampling);
    ``metadata`` starts ``writer.metadata``, which the caller may extend while writing (files
    skipped on the way); ``provenance`` (from :mod:`pfsdenoise.provenance`) goes into a sidecar.
    """
    axes = _check_axes(axes)
    wave = np.asarray(wave, dtype=np.float64)
    log_step = check_log_uniform(wave)
    with atomic_dir(path) as tmp:
        writer = GridWriter(tmp, axes, wave, continuum)
        writer.metadata.update(metadata or {})
        yield writer
        if not writer.valid.any():
            raise GridFormatError(f"grid {path}: no node was written")
        np.save(tmp / "wave.npy", wave)
        np.save(tmp / "valid.npy", writer.valid)
        checksums = {
            "algorithm": "crc32",
            "wave": zlib.crc32(np.ascontiguousarray(wave)),
            "valid": zlib.crc32(np.ascontiguousarray(writer.valid)),
            "flux": _row_checksums(writer.flux),
            "continuum": None if writer.continuum is None else _row_checksums(writer.continuum),
        }
        writer.flux.flush()
        if writer.continuum is not None:
            writer.continuum.flush()
        del writer.flux, writer.continuum
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "source": source,
            "axis_names": list(STELLAR_AXES),
            "axes": {k: v.tolist() for k, v in axes.items()},
            "axis_units": AXIS_UNITS,
            "wave": {
                "file": "wave.npy",
                "unit": WAVE_UNIT,
                "medium": "vacuum",
                "sampling": "log-uniform",
                "start": float(wave[0]),
                "stop": float(wave[-1]),
                "log_step": log_step,
                "n": len(wave),
            },
            "flux": {"file": "flux.npy", "unit": FLUX_UNIT, "quantity": "surface flux"},
            "continuum": {"file": "continuum.npy", "unit": FLUX_UNIT} if continuum else None,
            "valid": {"file": "valid.npy", "n_valid": int(writer.valid.sum())},
            "resolution": resolution,
            "metadata": writer.metadata,
        }
        # stable identity of the grid's content description (same axes, sampling, source and
        # model numbers -> same id), for shard provenance
        digest = hashlib.sha256(to_json(manifest).encode()).hexdigest()[:12]
        manifest["grid_id"] = f"{source}-{digest}"
        if provenance is not None:
            write_sidecar(tmp / MANIFEST, provenance)
            checksums["sidecar"] = zlib.crc32(sidecar_path(tmp / MANIFEST).read_bytes())
        checksums["manifest"] = zlib.crc32(to_json(manifest).encode())
        manifest["checksums"] = checksums
        (tmp / MANIFEST).write_text(to_json(manifest) + "\n")


def _row_checksums(array: np.ndarray) -> list[int]:
    """CRC32 of every node row of a (*axes, n_wave) array."""
    return [zlib.crc32(row) for row in array.reshape(-1, array.shape[-1])]


def write_grid(
    path: str | os.PathLike,
    axes: Mapping[str, Sequence[float]],
    wave: np.ndarray,
    flux: np.ndarray,
    valid: np.ndarray | None = None,
    continuum: np.ndarray | None = None,
    **kwargs: Any,
) -> None:
    """Write a whole in-memory grid at once (``flux`` of shape (*axis sizes, n_wave))."""
    flux = np.asarray(flux)
    shape = flux.shape[:-1]
    valid = np.ones(shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    with grid_writer(path, axes, wave, continuum=continuum is not None, **kwargs) as w:
        if w.shape != shape or valid.shape != shape:
            raise GridFormatError(f"flux/valid shape {shape}/{valid.shape} != axes {w.shape}")
        for index in zip(*np.nonzero(valid), strict=True):
            w.set_node(index, flux[index], None if continuum is None else continuum[index])


def grid_files(path: str | os.PathLike) -> list[Path]:
    """The files of a grid folder (for checksums and workflow inputs)."""
    path = Path(path)
    names = [MANIFEST, "wave.npy", "flux.npy", "valid.npy"]
    if (path / "continuum.npy").exists():
        names.append("continuum.npy")
    return [path / n for n in names]


def open_grid(path: str | os.PathLike) -> Grid:
    """Open a grid folder; flux (and continuum) are read-only memory maps.

    The manifest, the provenance sidecar, ``wave.npy`` and ``valid.npy`` are verified against
    their checksums here; node rows when first used (:meth:`Grid.check_nodes`).
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{manifest_path}: no grid here; build one (snakemake <grid dir>/grid.json) or "
            "import downloaded model files (pfsdenoise.grid.importer.import_grid)"
        )
    manifest, checksums = _read_manifest(manifest_path)
    try:
        axes = _check_axes({k: manifest["axes"][k] for k in manifest["axis_names"]})
        files = {k: manifest[k]["file"] for k in ("wave", "flux", "valid")}
        if manifest.get("continuum"):
            files["continuum"] = manifest["continuum"]["file"]
    except (KeyError, TypeError) as err:
        raise GridFormatError(
            f"{manifest_path}: the manifest has no valid entry {err}; {REBUILD}"
        ) from None
    shape = tuple(len(v) for v in axes.values())

    def load(name: str, dtype: type, mmap: bool) -> np.ndarray:
        file = path / files[name]
        try:
            arr = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise DamagedGridError(f"{file}: damaged: cannot read ({err}); {REBUILD}") from None
        if arr.dtype != np.dtype(dtype) or not arr.flags.c_contiguous:
            raise DamagedGridError(
                f"{file}: damaged: dtype {arr.dtype} (C order {arr.flags.c_contiguous}), "
                f"expected {np.dtype(dtype)} in C order; {REBUILD}"
            )
        if not mmap and zlib.crc32(arr) != checksums[name]:
            raise DamagedGridError(f"{file}: damaged: fails its checksum; {REBUILD}")
        return arr

    wave = load("wave", np.float64, mmap=False)
    log_step = check_log_uniform(wave, str(path / files["wave"]))
    flux = load("flux", np.float32, mmap=True)
    valid = load("valid", np.bool_, mmap=False)
    continuum = load("continuum", np.float32, mmap=True) if "continuum" in files else None
    for name, arr, want in [
        ("flux", flux, (*shape, len(wave))),
        ("valid", valid, shape),
        ("continuum", continuum, (*shape, len(wave))),
    ]:
        if arr is not None and arr.shape != want:
            raise DamagedGridError(
                f"{path}: damaged: {name} has shape {arr.shape}, manifest says {want}; {REBUILD}"
            )
    for name in ("flux", "continuum"):
        if name in files and len(checksums.get(name) or ()) != int(np.prod(shape)):
            raise DamagedGridError(f"{manifest_path}: damaged: {name} checksums; {REBUILD}")
    metadata = dict(manifest)
    metadata["provenance"] = read_record(manifest_path)
    return Grid(
        path=path,
        axis_names=tuple(manifest["axis_names"]),
        axes=axes,
        wave=wave,
        log_step=log_step,
        flux=flux,
        continuum=continuum,
        valid=valid,
        metadata=metadata,
        checksums=checksums,
    )


def _read_manifest(manifest_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest and its checksums, after checking the format, the manifest's own
    checksum and the provenance sidecar's."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DamagedGridError(
            f"{manifest_path}: damaged: not valid JSON ({err}); {REBUILD}"
        ) from None
    if not isinstance(manifest, dict):
        raise DamagedGridError(f"{manifest_path}: damaged: not a JSON object; {REBUILD}")
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise GridFormatError(
            f"{manifest_path}: format {manifest.get('format')!r} v{manifest.get('format_version')}"
            f", expected {FORMAT_NAME!r} v{FORMAT_VERSION} (v2 carries checksums); {REBUILD}"
        )
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise GridFormatError(
            f"{manifest_path}: the manifest has no {', '.join(map(repr, missing))} entry (edited, "
            f"or written by another tool?); {REBUILD}"
        )
    checksums = manifest.pop("checksums", None)
    try:
        if zlib.crc32(to_json(manifest).encode()) != checksums["manifest"]:
            raise DamagedGridError(f"{manifest_path}: damaged: fails its checksum; {REBUILD}")
        side = sidecar_path(manifest_path)
        expected = checksums.get("sidecar")
        if expected is not None and (
            not side.is_file() or zlib.crc32(side.read_bytes()) != expected
        ):
            raise DamagedGridError(f"{side}: damaged or missing: fails its checksum; {REBUILD}")
    except (KeyError, TypeError) as err:
        raise DamagedGridError(
            f"{manifest_path}: damaged: no valid checksums ({err!r}); {REBUILD}"
        ) from None
    return manifest, checksums
