"""PHOENIX-ACES model spectra as downloaded, for :func:`pfsdenoise.grid.importer.import_grid`.

The Göttingen library of Husser et al. (2013, A&A 553, A6), HiRes FITS files
(phoenix.astro.physik.uni-goettingen.de, "HiResFITS"):

* ``Z-0.0/lte05800-4.50-0.0.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits``,
  ``Z-0.5.Alpha=+0.20/lte03500-1.00-0.5.Alpha=+0.20.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits``:
  Teff [K] in 5 digits, log g with 2 decimals, [M/H] signed with 1 (solar written "-0.0"),
  [α/M] signed with 2 after ``.Alpha=`` (absent for 0); the folder repeats [M/H] and [α/M];
* the primary HDU holds the flux alone, F_λ at the stellar surface in erg s⁻¹ cm⁻² cm⁻¹; the
  header repeats the parameters (PHXTEFF, PHXLOGG, PHXM_H, PHXALPHA), checked here;
* all files share the wavelengths of ``WAVE_PHOENIX-ACES-AGSS-COND-2011.fits`` (primary HDU,
  vacuum Å); R = 500 000 from 3000 to 25 000 Å (Husser et al. 2013).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.grid.sources import (
    GridImportError,
    ModelFile,
    Source,
    Spectrum,
    read_failure,
    signed,
)

NAME = re.compile(
    r"^lte(?P<t>\d{5})-(?P<g>\d\.\d\d)(?P<m>[+-]\d\.\d)(?:\.Alpha=(?P<a>[+-]\d\.\d\d))?"
    r"\.PHOENIX-ACES-AGSS-COND-2011-HiRes\.fits$"
)
FOLDER = re.compile(r"^Z(?P<m>[+-]\d\.\d)(?:\.Alpha=(?P<a>[+-]\d\.\d\d))?$")
HEADER_KEYS = ("PHXTEFF", "PHXLOGG", "PHXM_H", "PHXALPHA")  # in STELLAR_AXES order
FLUX_UNIT = "erg / (s cm2 cm)"  # primary HDU of the HiRes files (Husser et al. 2013)

log = logging.getLogger(__name__)


def _fits_unit(header, default: str, path: Path):
    """The astropy unit of a FITS HDU: its BUNIT, or the documented ``default`` where the file
    states none or one that astropy does not read (logged)."""
    import astropy.units as u

    stated = header.get("BUNIT", default)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # "multiple slashes" in erg/s/cm^2/cm
        try:
            return u.Unit(stated, parse_strict="raise")
        except ValueError:
            log.warning(
                "%s: BUNIT %r not understood; taking %s (documented)", path, stated, default
            )
            return u.Unit(default)


class Phoenix(Source):
    """PHOENIX-ACES-AGSS-COND-2011 HiRes files; ``wave_file``: name of the wavelength file in
    the download folder."""

    key = "phoenix"
    name = "phoenix-aces"
    label = "PHOENIX-ACES"
    patterns = ("lte*.fits",)
    medium = "vacuum"
    resolution = 500000.0  # 3000-25000 A (Husser et al. 2013)
    hint = "; use the HiRes FITS files (R = 500 000), not the medium-resolution ones"

    def __init__(self, wave_file: str):
        self.wave_file = wave_file
        self.wave_path: Path | None = None
        self.wave: np.ndarray | None = None

    def parse(self, path: Path) -> ModelFile | None:
        m = NAME.match(path.name)
        if m is None:
            raise GridImportError(
                f"{path}: name does not follow the PHOENIX pattern {NAME.pattern}"
            )
        mh, alpha = signed(m["m"]), signed(m["a"] or "0")
        folder = FOLDER.match(path.parent.name)
        if folder and (signed(folder["m"]), signed(folder["a"] or "0")) != (mh, alpha):
            raise GridImportError(f"{path}: folder {path.parent.name} contradicts the file name")
        return ModelFile(path, (float(m["t"]), float(m["g"]), mh, alpha))

    def prepare(self, directory: Path, files: Sequence[ModelFile]) -> None:
        import astropy.units as u
        from astropy.io import fits

        path = directory / self.wave_file
        if not path.is_file():
            raise GridImportError(
                f"{path}: missing; PHOENIX HiRes spectra keep their wavelengths in this file "
                "(download it beside the Z folders, or set grid.phoenix.wave_file)"
            )
        try:
            with fits.open(path, memmap=False) as hdul:
                wave = np.asarray(hdul[0].data, dtype=np.float64)
                scale = _fits_unit(hdul[0].header, "Angstrom", path).to(u.AA)
        except Exception as err:
            raise read_failure(path, err) from err
        wave = wave * scale
        if wave.ndim != 1 or wave.size < 2 or not np.all(np.diff(wave) > 0) or wave[0] <= 0:
            raise GridImportError(
                f"{path}: not a wavelength array (need 1-D, positive, increasing; got shape "
                f"{wave.shape})"
            )
        self.wave_path, self.wave = path, wave

    def load(self, model: ModelFile) -> Spectrum:
        import astropy.units as u
        from astropy.io import fits

        try:
            with fits.open(model.path, memmap=False) as hdul:
                header = hdul[0].header
                flux = np.asarray(hdul[0].data, dtype=np.float64)
                scale = _fits_unit(header, FLUX_UNIT, model.path).to(u.erg / u.s / u.cm**2 / u.AA)
        except Exception as err:
            raise read_failure(model.path, err) from err
        for key, value in zip(HEADER_KEYS, model.params, strict=True):
            if key in header and abs(float(header[key]) - value) > 0.005 * max(1.0, abs(value)):
                raise GridImportError(
                    f"{model.path}: header {key} = {header[key]} contradicts the file name"
                )
        if flux.shape != self.wave.shape:
            raise GridImportError(
                f"{model.path}: {flux.size} flux values but {self.wave_path} has "
                f"{self.wave.size} wavelengths: not the wavelength file of these spectra"
            )
        return Spectrum(self.wave, flux * scale)

    def metadata(self) -> dict[str, Any]:
        return {"wave_file": str(self.wave_path), "flux_conversion": "F_lambda per cm -> per A"}
