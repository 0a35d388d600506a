"""Hydrogen Paschen lines for the synthetic grid (not in the Gaia-ESO metal list).

Vacuum wavelengths from the Rydberg formula, 1/lambda = R_H (1/9 - 1/n^2); oscillator
strengths from Kramers' formula with a constant Gaunt factor (0.72 matches Wiese & Fuhr 2009
within ~15 % for 3 -> 10..20); lower level n = 3 at 12.09 eV. The lines enter the same
Saha/Boltzmann opacity ratio as the metal lines; their width is linear Stark broadening,
parameterized as a Lorentzian whose FWHM grows as n_u^2 N_e^(2/3) (Griem 1960 scaling).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from pfsdenoise.constants import K_CGS
from pfsdenoise.grid.linedata import LineData

RYDBERG_H = 109677.583  # [cm-1]
CHI_ION_H = 13.598  # [eV]
GAUNT = 0.72
N_UPPER = range(9, 41)  # P9 (9231 A) ... close to the series limit (8206 A)
# Stark FWHM [A] of the n_u = 10 line at N_e = 1e13 cm-3 (~0.5 A at line formation in F dwarfs
# gives the few-A wide Paschen wings of F-type spectra in the Ca II triplet region).
STARK_FWHM_REF = 0.5


@cache
def paschen_lines(wave_min: float, wave_max: float) -> LineData:
    """Paschen lines with vacuum wavelength in [wave_min, wave_max], as a LineData table."""
    n = np.array(list(N_UPPER), dtype=np.float64)
    term = 1.0 / 9.0 - 1.0 / n**2
    wave = 1e8 / (RYDBERG_H * term)
    f = GAUNT * 32.0 / (3.0 * np.sqrt(3.0) * np.pi) / (3.0**5 * n**3) / term**3
    keep = (wave >= wave_min) & (wave <= wave_max)
    k = int(keep.sum())
    pf_neutral = np.zeros((k, 6))
    pf_neutral[:, 0] = np.log(2.0)  # U(H I) = 2, U(H II) = 1
    return LineData(
        wave=wave[keep],
        z=np.ones(k, dtype=int),
        ion=np.ones(k, dtype=int),
        chi_low=np.full(k, CHI_ION_H * (1.0 - 1.0 / 9.0)),
        loggf=np.log10(18.0 * f[keep]),
        fdamp=np.zeros(k),
        gamma_rad=np.zeros(k),
        abund_sun=np.full(k, 12.0),
        ip_neutral=np.full(k, CHI_ION_H),
        pf_neutral=pf_neutral,
        pf_ion=np.zeros((k, 6)),
        mass=np.full(k, 1.008),
        is_alpha=np.zeros(k, dtype=bool),
    )


def upper_level(wave: np.ndarray) -> np.ndarray:
    """Upper principal quantum number of Paschen lines from their vacuum wavelengths."""
    return np.sqrt(1.0 / (1.0 / 9.0 - 1e8 / (RYDBERG_H * wave)))


def stark_damping(
    lines: LineData, dl_dopp: np.ndarray, log_pe: float, temperature: float
) -> np.ndarray:
    """Voigt damping parameter a = FWHM_Stark / (2 Doppler width)."""
    n_e = 10.0**log_pe / (K_CGS * temperature)
    n_u = upper_level(lines.wave)
    fwhm = (
        STARK_FWHM_REF
        * (n_u / 10.0) ** 2
        * (n_e / 1e13) ** (2.0 / 3.0)
        * (lines.wave / 8500.0) ** 2
    )
    return fwhm / (2.0 * dl_dopp)
