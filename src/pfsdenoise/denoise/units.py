"""Units at the edge: wavelengths to vacuum Å, flux to f_λ and back (astropy.units).

* **Wavelength.** The models work in vacuum Å. Subaru PFS datamodel products are in vacuum nm
  (datamodel.txt: "Wavelength (nm, vacuum)"), other inputs in Å, unless a header says otherwise
  (``TUNITn``, ``CUNITn``, ``BUNIT``). Air wavelengths are converted with the IAU formula
  (Ciddor 1996 dispersion of standard air, as in Morton 2000; :mod:`pfsdenoise.grid.wavelength`).
* **Flux.** The models were trained on f_λ (median-normalized, so a pure scale does not matter:
  1e-17 erg s⁻¹ cm⁻² Å⁻¹ and erg s⁻¹ cm⁻² Å⁻¹ give the same input). f_ν (nJy, the datamodel's
  calibrated unit, or any f_ν or photon unit astropy converts with ``spectral_density``) is not a
  scale of f_λ: f_λ = f_ν c/λ², a factor 1.55 across 710–885 nm that changes the spectrum's
  shape. :func:`flambda_factor` gives that factor per pixel; flux and σ are multiplied by it
  before denoising and divided by it after, so the output keeps the input's unit. Units that
  are not flux densities (electrons, counts: uncalibrated pfsArm/pfsMerged data) are passed as
  they are; the domain checks warn about them.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any

import astropy.units as u
import numpy as np

FLAMBDA = u.erg / u.s / u.cm**2 / u.AA
"""The unit family the models were trained in (any scale of it denoises the same)."""
COUNT_UNITS = (u.electron, u.count, u.adu, u.photon)
"""Units of uncalibrated data (detector counts)."""
_ALIASES = {
    "A": "Angstrom",
    "Å": "Angstrom",
    "AA": "Angstrom",
    "Ang": "Angstrom",
    "Angstroms": "Angstrom",
    "angstroms": "Angstrom",
    "electrons": "electron",
    "counts": "count",
}
_TOKEN = re.compile(r"(?<![A-Za-z0-9.])(" + "|".join(map(re.escape, _ALIASES)) + r")(?![A-Za-z])")


class UnitError(ValueError):
    """A unit that is missing, unknown, or of the wrong kind for the quantity."""


def parse_unit(text: Any, what: str, source: str = "input") -> u.UnitBase | None:
    """The astropy unit of a header or column string; None when blank.

    ``A`` and ``Å`` are read as Ångström (a spectrum never involves ampères); an unknown
    string is an error naming the option that overrides it.
    """
    if text is None or isinstance(text, u.UnitBase):
        return text
    text = str(text).strip()
    if not text:
        return None
    cleaned = _TOKEN.sub(lambda m: _ALIASES[m.group(1)], text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", u.UnitsWarning)
            return u.Unit(cleaned, parse_strict="raise")
    except ValueError:
        raise UnitError(
            f"{source}: {what} unit {text!r} is not a unit astropy knows; pass --{what}-unit"
        ) from None


def to_angstrom(
    values: np.ndarray, unit: u.UnitBase, *, air: bool = False, source: str = "input"
) -> np.ndarray:
    """Vacuum Å of wavelengths ``values`` in ``unit`` (``air``: converted from air)."""
    if not unit.is_equivalent(u.AA, equivalencies=u.spectral()):
        raise UnitError(
            f"{source}: wavelength unit {unit} is not a length; pass --wave-unit (nm, Angstrom)"
        )
    wave = (np.asarray(values, dtype=np.float64) * unit).to_value(u.AA, equivalencies=u.spectral())
    if air:
        from pfsdenoise.grid.wavelength import air_to_vacuum

        wave = air_to_vacuum(wave)
    return wave


@functools.lru_cache(maxsize=64)
def flux_kind(unit: u.UnitBase | None) -> str:
    """``f_lambda``, ``f_nu`` (or photon flux densities), ``counts`` or ``unknown``."""
    if unit is None:
        return "unknown"
    if unit.is_equivalent(FLAMBDA):
        return "f_lambda"
    if unit.is_equivalent(FLAMBDA, equivalencies=u.spectral_density(8000 * u.AA)):
        return "f_nu"
    if set(unit.decompose().bases) & set(COUNT_UNITS):
        return "counts"
    return "unknown"


def flambda_factor(wave_aa: np.ndarray, unit: u.UnitBase | None) -> np.ndarray:
    """Per-pixel factor taking flux in ``unit`` to f_λ [erg s⁻¹ cm⁻² Å⁻¹].

    For f_ν this is c/λ² (astropy ``spectral_density``) times the unit's scale; for f_λ, counts
    or unknown units it is 1 (a pure scale cancels in the median normalization).
    """
    wave_aa = np.asarray(wave_aa, dtype=np.float64)
    if flux_kind(unit) != "f_nu":
        return np.ones_like(wave_aa)
    factor = (1.0 * unit).to_value(FLAMBDA, equivalencies=u.spectral_density(wave_aa * u.AA))
    return np.broadcast_to(np.asarray(factor, dtype=np.float64), wave_aa.shape).copy()
