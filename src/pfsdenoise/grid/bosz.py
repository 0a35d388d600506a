"""BOSZ model spectra as downloaded, for :func:`pfsdenoise.grid.importer.import_grid`.

Two releases (SCIENCE.md section 5):

* **2017** (Bohlin et al. 2017, AJ 153, 234): ``{fits|ascii}/insbroad_RRRRRR/metal_±x.xx/
  carbon_±x.xx/alpha_±x.xx/am{m|p}MMc{m|p}CCo{m|p}OOtTTTTgGGv20modrt0bRRRRRrs.{fits|asc.bz2}``;
  FITS HDU 1 columns ``Wavelength`` [A], ``SpecificIntensity``, ``Continuum`` (ASCII: the same
  three columns); surface flux = pi x SpecificIntensity. Wavelengths are printed with 3
  decimals only, so the log-uniform grid (ratio 1 + 1/300000, every 300000//R//2-th point) is
  rebuilt from them.
* **2024** (Meszaros et al. 2024, A&A 688, A197): ``bosz2024_{ms|mp|ap}_tTTTT_g±x.x_m±x.xx_
  a±x.xx_c±x.xx_v{v}_rR_resam.txt.gz``, two columns (Eddington flux H_lambda, continuum), with
  the wavelengths in ``bosz2024_wave_rR.txt``; surface flux = 4 pi H_lambda.

Parameters come from the names (2017: the exact folder values). Only solar [C/M] (and, for
2024, the chosen microturbulence) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
)

BASE_RATIO_2017 = 1.0 / 300000.0  # BOSZ 2017 native log step: ratio 1 + 1/300000

NAME_2017 = re.compile(
    r"^am(?P<ms>[mp])(?P<m>\d\d)c(?P<cs>[mp])(?P<c>\d\d)o(?P<os>[mp])(?P<o>\d\d)"
    r"t(?P<t>\d{4,5})g(?P<g>\d\d)v(?P<v>\d\d)modrt(?P<rot>\d+)b(?P<r>\d+)rs\.(?P<ext>fits|asc\.bz2)$"
)
FOLDER_2017 = re.compile(r"^(metal|carbon|alpha)_([+-]\d\.\d\d)$")
NAME_2024 = re.compile(
    r"^bosz2024_(?P<atm>ms|mp|ap)_t(?P<t>\d{4,5})_g(?P<g>[+-]\d\.\d)_m(?P<m>[+-]\d\.\d\d)"
    r"_a(?P<a>[+-]\d\.\d\d)_c(?P<c>[+-]\d\.\d\d)_v(?P<v>\d+)_r(?P<r>\d+)_resam\.txt\.gz$"
)


def _sign(s: str) -> float:
    return -1.0 if s == "m" else 1.0


def parse_2017(path: Path) -> ModelFile | None:
    """Parameters of a 2017 file from its name and folders; None for a non-solar [C/M]."""
    m = NAME_2017.match(path.name)
    if m is None:
        raise GridImportError(
            f"{path}: name does not follow the BOSZ 2017 pattern {NAME_2017.pattern}"
        )
    folders = {}
    for part in path.parts[:-1]:
        f = FOLDER_2017.match(part)
        if f:
            folders[f.group(1)] = float(f.group(2))
    mh = folders.get("metal", _sign(m["ms"]) * int(m["m"]) / 10)
    alpha = folders.get("alpha", _sign(m["os"]) * int(m["o"]) / 10)
    carbon = folders.get("carbon", _sign(m["cs"]) * int(m["c"]) / 10)
    # the name carries |x| x 10 rounded: check it against the exact folder values
    for key, exact, sign, digits in (
        ("metal", mh, m["ms"], m["m"]),
        ("alpha", alpha, m["os"], m["o"]),
    ):
        if abs(exact - _sign(sign) * int(digits) / 10) > 0.051:
            raise GridImportError(f"{path}: folder {key}_{exact:+.2f} contradicts the file name")
    if abs(carbon) > 1e-6:
        return None
    return ModelFile(path, (float(m["t"]), int(m["g"]) / 10, mh, alpha), int(m["r"]))


def parse_2024(path: Path, vturb: int) -> ModelFile | None:
    """Parameters of a 2024 file; None for non-solar [C/M] or another microturbulence."""
    m = NAME_2024.match(path.name)
    if m is None:
        raise GridImportError(
            f"{path}: name does not follow the BOSZ 2024 pattern {NAME_2024.pattern}"
        )
    if abs(float(m["c"])) > 1e-6 or int(m["v"]) != vturb:
        return None
    params = (float(m["t"]), float(m["g"]), float(m["m"]), float(m["a"]))
    return ModelFile(path, params, int(m["r"]))


def rebuild_wave_2017(printed: np.ndarray, resolution: float, where: Path) -> np.ndarray:
    """The exact log-uniform wavelengths behind 3-decimal printed values."""
    step = (300000 // int(resolution) // 2) * np.log1p(BASE_RATIO_2017)
    i = np.arange(len(printed))
    log0 = np.mean(np.log(printed) - i * step)
    wave = np.exp(log0 + i * step)
    worst = np.max(np.abs(wave - printed))
    if worst > 0.0011:
        raise GridImportError(
            f"{where}: wavelengths are not the BOSZ log-uniform grid for R = {resolution} "
            f"(off by up to {worst:.4f} A); is the file complete and its R right?"
        )
    return wave


def _columns(path: Path, names: Sequence[str]) -> list[np.ndarray]:
    """Columns of a BOSZ file: FITS HDU 1 by name, or the leading columns of a text table."""
    try:
        if path.name.endswith(".fits"):
            from astropy.io import fits

            with fits.open(path, memmap=False) as hdul:
                return [np.asarray(hdul[1].data[c], dtype=np.float64) for c in names]
        with open_text(path) as fh:
            table = np.loadtxt(fh, ndmin=2)
    except Exception as err:  # corrupt or truncated files: name the file and the cause
        raise read_failure(path, err) from err
    if table.shape[1] < len(names):
        raise GridImportError(
            f"{path}: expected {len(names)} columns ({', '.join(names)}), found {table.shape[1]}"
        )
    return [table[:, i] for i in range(len(names))]


class Bosz(Source):
    """BOSZ 2017 or 2024 files (``release``); ``vturb`` [km/s] selects the 2024 models (the
    2017 files have one, 2 km/s)."""

    key = "bosz"
    medium = "auto"  # the 2017 release mixes air and vacuum versions: found per grid
    has_continuum = True
    hint = "; download the R = 50000 (or higher) files"

    def __init__(self, release: str, vturb: int):
        if str(release) not in ("2017", "2024"):
            raise ValueError(f"BOSZ release must be '2017' or '2024', got {release!r}")
        self.release = str(release)
        self.vturb = vturb
        self.name = f"bosz{self.release}"
        self.label = f"BOSZ {self.release}"
        self.patterns = (
            ("*.fits", "*.asc.bz2") if self.release == "2017" else ("bosz2024_*.txt.gz",)
        )
        self.wave_2024: np.ndarray | None = None

    def parse(self, path: Path) -> ModelFile | None:
        return parse_2017(path) if self.release == "2017" else parse_2024(path, int(self.vturb))

    def prepare(self, directory: Path, files: Sequence[ModelFile]) -> None:
        if self.release == "2017":
            return
        wave_file = directory / f"bosz2024_wave_r{files[0].resolution:.0f}.txt"
        if not wave_file.is_file():
            raise GridImportError(
                f"{wave_file}: missing (the 2024 release keeps wavelengths there)"
            )
        try:
            self.wave_2024 = np.loadtxt(wave_file, ndmin=2)[:, 0]
        except Exception as err:
            raise read_failure(wave_file, err) from err
        if not np.all(np.diff(self.wave_2024) > 0):
            raise GridImportError(f"{wave_file}: wavelengths are not increasing")

    def load(self, model: ModelFile) -> Spectrum:
        if self.release == "2017":
            printed, intensity, cont = _columns(
                model.path, ("Wavelength", "SpecificIntensity", "Continuum")
            )
            wave = rebuild_wave_2017(printed, model.resolution, model.path)
            return Spectrum(wave, np.pi * intensity, np.pi * cont)
        h, cont = _columns(model.path, ("H_lambda", "continuum"))
        if len(h) != len(self.wave_2024):
            raise GridImportError(
                f"{model.path}: {len(h)} rows but the wavelength file has {len(self.wave_2024)}"
            )
        return Spectrum(self.wave_2024, 4 * np.pi * h, 4 * np.pi * cont)

    def metadata(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "vturb": self.vturb if self.release == "2024" else 2,
            "flux_conversion": "pi I" if self.release == "2017" else "4 pi H",
        }
