"""BT-Settl model spectra as downloaded, for :func:`pfsdenoise.grid.importer.import_grid`.

The Lyon PHOENIX grids of Allard et al. (BT-Settl; the CIFIST2011/2015 and AGSS2009 sets at
phoenix.ens-lyon.fr/Grids/BT-Settl), in either of the two forms distributed:

* names ``lte{Teff/100}-{log g}{[M/H]}a{[α/M]}.BT-Settl[...]`` + ``.spec.7`` or ``.7`` (ASCII)
  or ``.spec.fits`` (FITS), optionally ``.gz``/``.bz2``/``.xz``: e.g.
  ``lte058-4.5-0.0a+0.0.BT-Settl.spec.7.bz2``, ``lte058.0-4.5-0.0a+0.0.BT-Settl.spec.fits.gz``;
* ASCII (the grids' FORMAT file): column 1 the wavelength [Å], column 2 log10 F_λ with
  F_λ = 10**(column 2 + DF) erg s⁻¹ cm⁻² Å⁻¹ (DF = -8 for the recent grids, option
  ``log_flux_offset``), Fortran ``D`` exponents, columns run together where a value is
  negative; column 3 is the blackbody flux, further columns line identifications (unused).
  Rows are not sorted ("models are computed on parallel computers") and some repeat;
* FITS: a binary table in HDU 1 with ``Wavelength`` and ``Flux`` columns whose units are in
  TUNITn (µm and W m⁻² µm⁻¹ in the CIFIST files) and are converted with astropy;
* no continuum. The wavelengths' medium is not stated in the files: ``medium: auto`` takes it
  from the Ca II triplet (:func:`pfsdenoise.grid.wavelength.medium_from_ca_triplet`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.grid.sources import (
    GridImportError,
    ModelFile,
    Source,
    Spectrum,
    open_text,
    read_failure,
    signed,
    sorted_unique,
)

NAME = re.compile(
    r"^lte(?P<t>\d+(?:\.\d+)?)-(?P<g>[+-]?\d+\.\d+)(?P<m>[+-]\d+\.\d+)a(?P<a>[+-]\d+\.\d+)"
    r"\.(?P<model>BT-Settl[\w.+-]*?)\.(?P<kind>spec\.7|7|spec\.fits)(?:\.gz|\.bz2|\.xz)?$"
)
# A number as the models print them: Fortran D or E exponent, the sign glued to the previous
# column when negative.
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?"
_ROW = re.compile(rf"^[ \t]*({_NUMBER})[ \t]*({_NUMBER})", re.MULTILINE)


def read_spec7(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Wavelength [Å] and log10 flux column of an ASCII ``.7`` file, in file order."""
    try:
        with open_text(path) as fh:
            text = fh.read()
    except Exception as err:
        raise read_failure(path, err) from err
    rows = _ROW.findall(text.translate(str.maketrans("Dd", "Ee")))
    lines = sum(1 for line in text.splitlines() if line.strip())
    if not rows or len(rows) != lines:
        raise GridImportError(
            f"{path}: {lines - len(rows)} of {lines} lines do not start with two numbers "
            "(wavelength, log10 flux): truncated, or not a BT-Settl .7 file"
        )
    table = np.array(rows, dtype=np.float64)
    return table[:, 0], table[:, 1]


def read_fits_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Wavelength [Å] and F_λ [erg s⁻¹ cm⁻² Å⁻¹] of a BT-Settl FITS table, units from TUNITn."""
    import astropy.units as u
    from astropy.io import fits

    want = {"wavelength": u.AA, "flux": u.erg / u.s / u.cm**2 / u.AA}
    try:
        with fits.open(path, memmap=False) as hdul:
            table = hdul[1]
            by_name = {c.name.lower(): c for c in table.columns}
            out = []
            for name, unit in want.items():
                if name not in by_name:
                    raise GridImportError(
                        f"{path}: HDU 1 has no {name} column (columns: {table.columns.names})"
                    )
                column = by_name[name]
                if not column.unit:
                    raise GridImportError(
                        f"{path}: column {column.name} states no unit (TUNIT): cannot convert it"
                    )
                scale = u.Unit(column.unit, parse_strict="raise").to(unit)
                out.append(np.asarray(table.data[column.name], dtype=np.float64) * scale)
    except GridImportError:
        raise
    except Exception as err:
        raise read_failure(path, err) from err
    return out[0], out[1]


class BtSettl(Source):
    """BT-Settl files; ``log_flux_offset`` is DF of the ASCII files, ``medium`` their
    wavelengths' medium ("auto": from the Ca II triplet)."""

    key = "btsettl"
    name = "btsettl"
    label = "BT-Settl"
    patterns = ("lte*",)
    hint = "; use the high-resolution .7 or .spec.fits files of the grid"

    def __init__(self, log_flux_offset: float, medium: str):
        if medium not in ("auto", "air", "vacuum"):
            raise ValueError(f"grid.btsettl.medium must be auto, air or vacuum, got {medium!r}")
        self.log_flux_offset = float(log_flux_offset)
        self.medium = medium

    def parse(self, path: Path) -> ModelFile | None:
        m = NAME.match(path.name)
        if m is None:
            raise GridImportError(
                f"{path}: name does not follow the BT-Settl pattern {NAME.pattern}"
            )
        params = (100 * float(m["t"]), signed(m["g"]), signed(m["m"]), signed(m["a"]))
        return ModelFile(path, params)

    def load(self, model: ModelFile) -> Spectrum:
        if ".fits" in model.path.suffixes:
            wave, flux = read_fits_table(model.path)
        else:
            wave, log_flux = read_spec7(model.path)
            flux = 10.0 ** (log_flux + self.log_flux_offset)
        wave, flux = sorted_unique(wave, flux)
        return Spectrum(wave, flux)

    def metadata(self) -> dict[str, Any]:
        return {"log_flux_offset": self.log_flux_offset, "medium_option": self.medium}
