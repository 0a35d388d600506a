"""What an importer of downloaded model spectra has to say about its grid (:class:`Source`).

A source names its candidate files, parses a file name into the stellar parameters, and reads
one file into wavelengths [Å], surface flux [erg s⁻¹ cm⁻² Å⁻¹] and, where the grid has one, the
continuum. Everything else (axes, air/vacuum, resampling, checks, writing) is common:
:mod:`pfsdenoise.grid.importer`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

# The MR arm needs model spectra of R >= 20000 (SCIENCE.md section 5: an R = 5000 file has only
# ~2200 points in 710-885 nm).
MIN_RESOLUTION = 20000


class GridImportError(ValueError):
    """A model file or folder that cannot be imported; the message names the file."""


@dataclass(frozen=True)
class ModelFile:
    """One model file and the parameters its name (and folders) give."""

    path: Path
    params: tuple[float, float, float, float]  # teff, logg, mh, alpha (STELLAR_AXES order)
    resolution: float | None = None  # resolving power stated by the name, where it is


@dataclass(frozen=True)
class Spectrum:
    """One file's content: wavelengths strictly increasing, in the file's medium."""

    wave: np.ndarray  # Angstrom
    flux: np.ndarray  # surface flux, erg s-1 cm-2 A-1
    continuum: np.ndarray | None = None  # same unit, where the grid provides one


class Source:
    """One downloadable grid; subclasses set the attributes and implement parse and load."""

    key: str  # config section grid.<key>
    name: str  # manifest `source`
    label: str  # how messages call it
    patterns: tuple[str, ...]  # globs of candidate files, searched recursively
    medium: str = "auto"  # wavelengths in the files: "vacuum", "air" or "auto" (Ca II triplet)
    has_continuum: bool = False
    resolution: float | None = None  # documented resolving power of the models, if any
    hint: str = ""  # what to download instead of files of too low a resolution

    def parse(self, path: Path) -> ModelFile | None:
        """Parameters of a candidate file; None for a file of the grid that is not wanted;
        :class:`GridImportError` for a name that does not parse."""
        raise NotImplementedError

    def load(self, model: ModelFile) -> Spectrum:
        """Read one file; :class:`GridImportError` naming it when it cannot be read."""
        raise NotImplementedError

    def prepare(self, directory: Path, files: Sequence[ModelFile]) -> None:
        """Read what all files share (a separate wavelength file); nothing by default."""

    def metadata(self) -> dict[str, Any]:
        """Source-specific entries of the manifest's ``metadata``."""
        return {}


def signed(value: str) -> float:
    """A parameter printed with its sign; -0.0 becomes 0.0 (names write solar as "-0.0")."""
    return float(value) + 0.0


def open_text(path: Path) -> IO[str]:
    """Open a text file, decompressing by suffix (.gz, .bz2, .xz)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    return opener(path, "rt")


def sorted_unique(wave: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort by wavelength and keep the first of repeated wavelengths (models computed in
    parallel write their wavelengths out of order, some twice)."""
    wave = np.asarray(wave, dtype=np.float64)
    order = np.argsort(wave, kind="stable")
    keep = np.concatenate([[True], np.diff(wave[order]) > 0])
    index = order[keep]
    return (wave[index], *(np.asarray(c, dtype=np.float64)[index] for c in columns))


def read_failure(path: Path, err: Exception) -> GridImportError:
    """The error for a file that exists but cannot be read (corrupt, truncated, wrong format)."""
    return GridImportError(f"{path}: cannot read ({type(err).__name__}: {err})")
