"""Spectral indices for calibrating the synthetic grid against published relations.

* Ca II triplet: CaT, PaT and CaT* = CaT - 0.93 PaT of Cenarro et al. (2001, MNRAS 326, 959):
  equivalent widths [A] in three Ca and three Paschen bands against a straight pseudo-continuum
  fitted to five continuum bands (bandpasses in air, their Table 4), at 1.5 A FWHM resolution.
* TiO5 of Reid, Hawley & Gizis (1995, AJ 110, 1838): mean flux in 7126-7135 A over 7042-7046 A
  (air); with the M-dwarf spectral type relation SpT = 7.76 - 9.64 TiO5 (Gizis 1997, AJ 113,
  806; K7 = -1, M0 = 0, ...) and the dwarf spectral type-Teff scale of Pecaut & Mamajek (2013,
  ApJS 208, 9, table 5).
* Giant-branch metallicity scale of the two strongest Ca II lines, sum W(8542) + W(8662)
  = ([Fe/H] + 2.66) / 0.42 A at the luminosity of the horizontal branch (Armandroff & Da Costa
  1991, AJ 101, 1329; measured here in the Cenarro Ca2 and Ca3 bands).
"""

from __future__ import annotations

import numpy as np

from pfsdenoise.grid.wavelength import air_to_vacuum

CAT_LINES = ((8484.0, 8513.0), (8522.0, 8562.0), (8642.0, 8682.0))
PAT_LINES = ((8461.0, 8474.0), (8577.0, 8619.0), (8730.0, 8772.0))
CAT_CONTINUA = (
    (8474.0, 8484.0), (8563.0, 8577.0), (8619.0, 8642.0), (8700.0, 8725.0), (8776.0, 8792.0)
)  # fmt: skip
PAT_WEIGHT = 0.93
TIO5_BAND, TIO5_CONTINUUM = (7126.0, 7135.0), (7042.0, 7046.0)
# Gizis (1997): SpT = 7.76 - 9.64 TiO5; Pecaut & Mamajek (2013) dwarfs: SpT (M0 = 0) -> Teff
GIZIS_ZERO, GIZIS_SLOPE = 7.76, -9.64
PM13_SPT = (-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)  # K7V ... M5V
PM13_TEFF = (4050.0, 3850.0, 3680.0, 3550.0, 3400.0, 3200.0, 3050.0)
AD91_ZERO, AD91_SLOPE = -2.66, 0.42


def _vac(band: tuple[float, float]) -> tuple[float, float]:
    lo, hi = air_to_vacuum(np.array(band, dtype=np.float64))
    return float(lo), float(hi)


def _mean(wave: np.ndarray, flux: np.ndarray, band: tuple[float, float]) -> float:
    lo, hi = _vac(band)
    sel = (wave >= lo) & (wave <= hi)
    if sel.sum() < 2:
        raise ValueError(f"band {band} A (air) is not covered by the spectrum")
    return float(flux[sel].mean())


def pseudo_continuum(wave: np.ndarray, flux: np.ndarray, bands) -> np.ndarray:
    """Straight line fitted (least squares) to all pixels of the continuum ``bands`` (air A)."""
    sel = np.zeros(len(wave), dtype=bool)
    for band in bands:
        lo, hi = _vac(band)
        sel |= (wave >= lo) & (wave <= hi)
    coef = np.polyfit(wave[sel], flux[sel], 1)
    return np.polyval(coef, wave)


def equivalent_width(wave, flux, continuum, band: tuple[float, float]) -> float:
    lo, hi = _vac(band)
    sel = (wave >= lo) & (wave <= hi)
    return float(np.trapezoid(1.0 - flux[sel] / continuum[sel], wave[sel]))


def ca_triplet(wave: np.ndarray, flux: np.ndarray) -> dict[str, float]:
    """CaT, PaT, CaT* [A] (Cenarro et al. 2001) and W(8542) + W(8662) of a spectrum at ~1.5 A
    resolution on vacuum wavelengths ``wave`` [A]."""
    cont = pseudo_continuum(wave, flux, CAT_CONTINUA)
    ca = [equivalent_width(wave, flux, cont, b) for b in CAT_LINES]
    pa = [equivalent_width(wave, flux, cont, b) for b in PAT_LINES]
    return {
        "CaT": sum(ca),
        "PaT": sum(pa),
        "CaT*": sum(ca) - PAT_WEIGHT * sum(pa),
        "W8542+8662": ca[1] + ca[2],
    }


def tio5(wave: np.ndarray, flux: np.ndarray) -> float:
    """TiO5 index (Reid, Hawley & Gizis 1995) of a spectrum on vacuum wavelengths [A]."""
    return _mean(wave, flux, TIO5_BAND) / _mean(wave, flux, TIO5_CONTINUUM)


def tio5_expected(teff: np.ndarray | float) -> np.ndarray:
    """TiO5 of an M dwarf of ``teff`` from the Pecaut & Mamajek scale and Gizis' relation."""
    spt = np.interp(teff, PM13_TEFF[::-1], PM13_SPT[::-1])
    return (spt - GIZIS_ZERO) / GIZIS_SLOPE


def teff_from_tio5(value: np.ndarray | float) -> np.ndarray:
    spt = GIZIS_ZERO + GIZIS_SLOPE * np.asarray(value)
    return np.interp(spt, PM13_SPT, PM13_TEFF)


def ca_lines_expected(feh: np.ndarray | float) -> np.ndarray:
    """W(8542) + W(8662) [A] of a giant at horizontal-branch luminosity (Armandroff & Da Costa)."""
    return (np.asarray(feh) - AD91_ZERO) / AD91_SLOPE
