"""The committed atomic data of the synthetic grid: line table and per-species constants."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# Elements counted as alpha elements for [alpha/M] (O, Ne, Mg, Si, S, Ar, Ca, Ti), as in the
# alpha-enhanced BOSZ/ATLAS9 and MARCS grids.
ALPHA_ELEMENTS = (8, 10, 12, 14, 16, 18, 20, 22)


@dataclass(frozen=True)
class LineData:
    """Lines (arrays of equal length) and, per line, the constants of its species."""

    wave: np.ndarray  # vacuum [A]
    z: np.ndarray
    ion: np.ndarray  # 1 neutral, 2 singly ionized
    chi_low: np.ndarray  # [eV]
    loggf: np.ndarray
    fdamp: np.ndarray
    gamma_rad: np.ndarray  # [s-1]
    abund_sun: np.ndarray  # A(X) = log eps + 12 of the element
    ip_neutral: np.ndarray  # first ionization potential of the element [eV]
    pf_neutral: np.ndarray  # (n, 6) Irwin ln U coefficients, neutral
    pf_ion: np.ndarray  # (n, 6) same, first ion
    mass: np.ndarray  # [u]
    is_alpha: np.ndarray


def read_data(name: str) -> pd.DataFrame:
    """A committed CSV table of pfsdenoise.data (comment lines start with #)."""
    path = resources.files("pfsdenoise.data") / name
    with resources.as_file(path) as p:
        return pd.read_csv(p, comment="#")


@cache
def load_lines(wave_min: float = 0.0, wave_max: float = np.inf) -> LineData:
    """Lines with vacuum wavelength in [wave_min, wave_max], joined with their species data."""
    lines = read_data("linelist_gaiaeso.csv")
    lines = lines[(lines.wave_vac >= wave_min) & (lines.wave_vac <= wave_max)]
    species = read_data("linelist_species.csv")
    coeffs = [f"a{k}" for k in range(6)]
    neutral = species[species.ion == 1].set_index("z")
    ion = species[species.ion == 2].set_index("z")
    z = lines.z.to_numpy()
    return LineData(
        wave=lines.wave_vac.to_numpy(),
        z=z,
        ion=lines.ion.to_numpy(),
        chi_low=lines.chi_low.to_numpy(),
        loggf=lines.loggf.to_numpy(),
        fdamp=lines.fdamp.to_numpy(),
        gamma_rad=lines.gamma_rad.to_numpy(),
        abund_sun=neutral.loc[z, "abund_sun"].to_numpy(),
        ip_neutral=neutral.loc[z, "ip"].to_numpy(),
        pf_neutral=neutral.loc[z, coeffs].to_numpy(),
        pf_ion=ion.loc[z, coeffs].to_numpy(),
        mass=neutral.loc[z, "mass"].to_numpy(),
        is_alpha=np.isin(z, ALPHA_ELEMENTS),
    )


@cache
def load_sun_reference() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kurucz Sun (R = 5000, vacuum): wavelength [A], flux and continuum [FLAM]."""
    sun = read_data("sun_kurucz_mr.csv")
    return sun.wave.to_numpy(), sun.flux.to_numpy(), sun.continuum.to_numpy()
