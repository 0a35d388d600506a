"""Model spectra for the importer tests: a power-law continuum with the Ca II triplet.

A module of its own (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

import numpy as np

from pfsdenoise.grid.wavelength import CA_TRIPLET_VACUUM, vacuum_to_air

# Import range holding the triplet (air and vacuum); no axis limits.
RANGE = {"wave_min": 8400.0, "wave_max": 8700.0, "axes": None}
LINE_DEPTH, LINE_SIGMA = 0.6, 0.6  # Angstrom


def spectrum(wave: np.ndarray, teff: float, medium: str = "vacuum") -> tuple[np.ndarray, ...]:
    """Surface flux and continuum [erg s-1 cm-2 A-1] at ``wave``, lines placed in ``medium``."""
    centres = CA_TRIPLET_VACUUM if medium == "vacuum" else vacuum_to_air(CA_TRIPLET_VACUUM)
    cont = 1e5 * (teff / 5000) ** 4 * (8000 / wave) ** 2
    lines = sum(LINE_DEPTH * np.exp(-0.5 * ((wave - c) / LINE_SIGMA) ** 2) for c in centres)
    return cont * (1 - lines), cont


def line_minimum(wave: np.ndarray, flux: np.ndarray, centre: float = 8544.44) -> float:
    """Wavelength of the flux minimum within 3 A of ``centre``."""
    near = np.abs(wave - centre) < 3
    return float(wave[near][np.argmin(flux[near])])


def equivalent_width(wave: np.ndarray, flux: np.ndarray, cont: np.ndarray) -> float:
    """Total equivalent width [A] of the lines, by the trapezoid rule."""
    depth = 1 - flux / cont
    return float(np.sum(0.5 * (depth[1:] + depth[:-1]) * np.diff(wave)))
