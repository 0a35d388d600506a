"""Import BOSZ model spectra that the user downloaded into the common grid format.

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
2024, the chosen microturbulence) is kept. Spectra are cropped to the grid range, checked for
air vs vacuum on the Ca II triplet (air spectra are converted and resampled onto a
log-uniform vacuum grid), and written atomically; missing nodes become holes.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.grid.store import grid_writer, log_uniform_wave
from pfsdenoise.grid.wavelength import air_to_vacuum, medium_from_ca_triplet

log = logging.getLogger(__name__)

MIN_RESOLUTION = 20000  # the MR arm needs R >= 20000 (an R = 5000 file has ~2200 points in it)
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


class BoszError(ValueError):
    """A BOSZ file or folder that cannot be imported; the message names the file."""


@dataclass(frozen=True)
class BoszFile:
    path: Path
    params: tuple[float, float, float, float]  # teff, logg, mh, alpha
    resolution: int


def _sign(s: str) -> float:
    return -1.0 if s == "m" else 1.0


def parse_2017(path: Path) -> BoszFile | None:
    """Parameters of a 2017 file from its name and folders; None for a non-solar [C/M]."""
    m = NAME_2017.match(path.name)
    if m is None:
        raise BoszError(f"{path}: name does not follow the BOSZ 2017 pattern {NAME_2017.pattern}")
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
            raise BoszError(f"{path}: folder {key}_{exact:+.2f} contradicts the file name")
    if abs(carbon) > 1e-6:
        return None
    return BoszFile(path, (float(m["t"]), int(m["g"]) / 10, mh, alpha), int(m["r"]))


def parse_2024(path: Path, vturb: int) -> BoszFile | None:
    """Parameters of a 2024 file; None for non-solar [C/M] or another microturbulence."""
    m = NAME_2024.match(path.name)
    if m is None:
        raise BoszError(f"{path}: name does not follow the BOSZ 2024 pattern {NAME_2024.pattern}")
    if abs(float(m["c"])) > 1e-6 or int(m["v"]) != vturb:
        return None
    params = (float(m["t"]), float(m["g"]), float(m["m"]), float(m["a"]))
    return BoszFile(path, params, int(m["r"]))


def rebuild_wave_2017(printed: np.ndarray, resolution: int, where: Path) -> np.ndarray:
    """The exact log-uniform wavelengths behind 3-decimal printed values."""
    step = (300000 // resolution // 2) * np.log1p(BASE_RATIO_2017)
    i = np.arange(len(printed))
    log0 = np.mean(np.log(printed) - i * step)
    wave = np.exp(log0 + i * step)
    worst = np.max(np.abs(wave - printed))
    if worst > 0.0011:
        raise BoszError(
            f"{where}: wavelengths are not the BOSZ log-uniform grid for R = {resolution} "
            f"(off by up to {worst:.4f} A); is the file complete and its R right?"
        )
    return wave


def read_2017(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Printed wavelength, specific intensity and continuum of one 2017 file."""
    try:
        if path.name.endswith(".fits"):
            from astropy.io import fits

            with fits.open(path, memmap=False) as hdul:
                data = hdul[1].data
                cols = [
                    np.asarray(data[c], dtype=np.float64)
                    for c in ("Wavelength", "SpecificIntensity", "Continuum")
                ]
        else:
            with bz2.open(path, "rt") as fh:
                table = np.loadtxt(fh, ndmin=2)
            if table.shape[1] < 3:
                raise BoszError(f"{path}: expected 3 columns, found {table.shape[1]}")
            cols = [table[:, 0], table[:, 1], table[:, 2]]
    except BoszError:
        raise
    except Exception as err:  # corrupt or truncated files: name the file and the cause
        raise BoszError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    return cols[0], cols[1], cols[2]


def read_2024(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Eddington flux and continuum of one 2024 file."""
    try:
        with gzip.open(path, "rt") as fh:
            table = np.loadtxt(fh, ndmin=2)
    except Exception as err:
        raise BoszError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    if table.shape[1] < 2:
        raise BoszError(f"{path}: expected 2 columns (H_lambda, continuum), found {table.shape[1]}")
    return table[:, 0], table[:, 1]


def scan(directory: Path, release: str, vturb: int) -> tuple[list[BoszFile], list[str]]:
    """Model files under ``directory`` (recursively), and the names skipped with a reason."""
    if not directory.is_dir():
        raise FileNotFoundError(f"BOSZ directory {directory} does not exist (grid.bosz.directory)")
    pattern = ("*.fits", "*.asc.bz2") if release == "2017" else ("bosz2024_*.txt.gz",)
    candidates = sorted(p for pat in pattern for p in directory.rglob(pat))
    files, skipped = [], []
    for path in candidates:
        try:
            parsed = parse_2017(path) if release == "2017" else parse_2024(path, vturb)
        except BoszError as err:
            log.warning("skipping %s", err)
            skipped.append(str(err))
            continue
        if parsed is not None:
            files.append(parsed)
    if not files:
        raise BoszError(
            f"no BOSZ {release} model files with solar [C/M] under {directory} "
            f"({len(candidates)} candidate files, {len(skipped)} with unparsable names)"
        )
    return files, skipped


def _check_resolution(files: Sequence[BoszFile]) -> int:
    res = {f.resolution for f in files}
    if len(res) > 1:
        raise BoszError(f"BOSZ files of several resolutions {sorted(res)}: keep one per folder")
    r = res.pop()
    if r < MIN_RESOLUTION:
        raise BoszError(
            f"BOSZ files have R = {r} (e.g. {files[0].path.name}): the MR arm needs R >= "
            f"{MIN_RESOLUTION}; download the R = 50000 (or higher) files"
        )
    return r


def import_bosz(
    directory: str | os.PathLike,
    out: str | os.PathLike,
    *,
    release: str = "2017",
    wave_min: float,
    wave_max: float,
    axes: Mapping[str, Sequence[float]] | None = None,
    vturb: int = 2,
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Import the BOSZ files under ``directory`` into a grid at ``out``.

    ``axes`` (as in the config) limits each parameter to [min, max] of the given values;
    ``vturb`` selects the 2024 microturbulence [km/s].
    """
    directory = Path(directory)
    if release not in ("2017", "2024"):
        raise ValueError(f"BOSZ release must be '2017' or '2024', got {release!r}")
    files, skipped = scan(directory, release, vturb)
    if axes:
        lo = np.array([min(axes[a]) for a in STELLAR_AXES]) - 1e-9
        hi = np.array([max(axes[a]) for a in STELLAR_AXES]) + 1e-9
        files = [f for f in files if np.all((lo <= f.params) & (f.params <= hi))]
        if not files:
            raise BoszError(f"no BOSZ file under {directory} lies inside the configured axes")
    resolution = _check_resolution(files)
    by_params: dict[tuple, BoszFile] = {}
    for f in files:
        if f.params in by_params:
            raise BoszError(f"{f.path} and {by_params[f.params].path} have the same parameters")
        by_params[f.params] = f
    grid_axes = {a: sorted({f.params[d] for f in files}) for d, a in enumerate(STELLAR_AXES)}
    shared_wave = None
    if release == "2024":
        wave_file = directory / f"bosz2024_wave_r{resolution}.txt"
        if not wave_file.is_file():
            raise BoszError(f"{wave_file}: missing (the 2024 release keeps wavelengths there)")
        try:
            shared_wave = np.loadtxt(wave_file, ndmin=2)[:, 0]
        except Exception as err:
            raise BoszError(f"{wave_file}: cannot read ({err})") from err

    def load(f: BoszFile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if release == "2017":
            printed, intensity, cont = read_2017(f.path)
            wave = rebuild_wave_2017(printed, f.resolution, f.path)
            return wave, np.pi * intensity, np.pi * cont
        h, cont = read_2024(f.path)
        if len(h) != len(shared_wave):
            raise BoszError(
                f"{f.path}: {len(h)} rows but the wavelength file has {len(shared_wave)}"
            )
        return shared_wave, 4 * np.pi * h, 4 * np.pi * cont

    first = files[0]
    wave0, _, _ = load(first)
    if wave0[0] > wave_min or wave0[-1] < wave_max:
        raise BoszError(
            f"{first.path}: covers {wave0[0]:.1f}-{wave0[-1]:.1f} A, not the grid range "
            f"{wave_min}-{wave_max} A"
        )
    medium = _medium(files, load)
    native_step = float(np.mean(np.diff(np.log(wave0))))
    if medium == "vacuum":
        keep = (wave0 >= wave_min) & (wave0 <= wave_max)
        target = wave0[keep]
        target = target[0] * np.exp(native_step * np.arange(len(target)))
    else:
        target = log_uniform_wave(wave_min, wave_max, native_step)
    log.info(
        "%d BOSZ files, R = %d, %s wavelengths, %d points",
        len(files),
        resolution,
        medium,
        len(target),
    )
    with grid_writer(
        out,
        grid_axes,
        target,
        continuum=True,
        source=f"bosz{release}",
        resolution=float(resolution),
        metadata={
            "directory": str(directory),
            "medium_in_files": medium,
            "vturb": vturb,
            "skipped": skipped,
            "flux_conversion": "pi I" if release == "2017" else "4 pi H",
        },
        provenance=provenance,
    ) as writer:
        for f in files:
            wave, flux, cont = load(f)
            if len(wave) != len(wave0) or np.max(np.abs(wave - wave0)) > 1e-6 * wave0[0]:
                raise BoszError(f"{f.path}: wavelength grid differs from {first.path}")
            if medium == "air":
                wave = air_to_vacuum(wave)
            flux_t = np.interp(target, wave, flux)
            cont_t = np.interp(target, wave, cont)
            if not (np.all(np.isfinite(flux_t)) and np.all(flux_t >= 0)):
                raise BoszError(f"{f.path}: NaN or negative flux in {wave_min}-{wave_max} A")
            if not (np.all(np.isfinite(cont_t)) and np.all(cont_t > 0)):
                raise BoszError(f"{f.path}: NaN or non-positive continuum")
            writer.set_node(
                writer.index_of(dict(zip(STELLAR_AXES, f.params, strict=True))), flux_t, cont_t
            )


def _medium(files: Sequence[BoszFile], load) -> str:
    """Air or vacuum, from the Ca II triplet of the coolest file (strongest lines)."""
    coolest = min(files, key=lambda f: f.params[0])
    wave, flux, cont = load(coolest)
    try:
        return medium_from_ca_triplet(wave, flux / cont)
    except ValueError as err:
        raise BoszError(f"{coolest.path}: {err}") from err
