"""The one layer of the synthetic model: temperature, pressures and densities at line formation.

The layer sits at temperature T = t_ratio Teff and at a fixed continuum optical depth tau_f,
where hydrostatic equilibrium gives the gas pressure P_g = g tau_f / kappa (kappa per gram).
The continuous opacity is H- (bound-free at 8000 A, 3.8e-17 cm2, Wishart 1979 / John 1988, and
free-free, Gray 2005 eq. 8.13) per neutral H atom, ~ P_e; the electron pressure follows from
charge conservation with Saha ionization of H and the metals (Irwin partition functions of
``linelist_species.csv``). tau_f is fixed by the Sun: the layer of the Sun has the calibrated
electron pressure ``log_pe_sun``. Solving P_e(Teff, log g, [M/H]) this way replaces power-law
scalings: P_e ~ g^(1/3) Z^(1/3) for metal donors, a steep rise where hydrogen ionizes (F stars)
and a steep fall where the metals recombine (M stars) (Gray 2005, *The Observation and
Analysis of Stellar Photospheres*, 3rd ed., ch. 8-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import brentq

from pfsdenoise.constants import K_CGS
from pfsdenoise.grid.chemistry import (
    AMU,
    Chemistry,
    Species,
    equilibrium,
    load_species,
    partition,
    saha_ratio,
)

SIGMA_HMINUS_BF = 3.8e-17  # [cm2] H- photo-detachment cross-section near 8000 A
LOG_LAMBDA = np.log10(8000.0)
HELIUM = 0.085  # He/H by number (Grevesse et al. 2007: A(He) = 10.93)
MASS_PER_H = (1.008 + 4.0026 * HELIUM) * AMU  # [g] per H nucleus (metals neglected)


@dataclass(frozen=True)
class Layer:
    temperature: float
    log_pe: float
    n_h: float  # H nuclei [cm-3]
    log_kappa: float  # log10 continuous opacity per H nucleus [cm2]
    chem: Chemistry


def hminus_opacity(temperature: float, log_pe: float) -> float:
    """H- bound-free + free-free opacity per neutral H atom [cm2] near 8000 A."""
    theta = 5040.0 / temperature
    pe = 10.0**log_pe
    bf = 4.158e-10 * SIGMA_HMINUS_BF * pe * theta**2.5 * 10.0 ** (0.754 * theta)
    x, lt = LOG_LAMBDA, np.log10(theta)
    f0 = -2.2763 - 1.6850 * x + 0.76661 * x**2 - 0.053346 * x**3
    f1 = 15.2827 - 9.2846 * x + 1.99381 * x**2 - 0.142631 * x**3
    f2 = -197.789 + 190.266 * x - 67.9775 * x**2 + 10.6913 * x**3 - 0.625151 * x**4
    ff = 1e-26 * pe * 10.0 ** (f0 + f1 * lt + f2 * lt**2)
    return bf + ff


def _ionization(sp: Species, temperature: float, log_pe: float, mh: float, alpha: float):
    """Electrons per H nucleus and neutral H fraction (molecules neglected)."""
    eps = 10.0 ** (
        sp.abund_sun - 12.0 + np.where(sp.z == 1, 0.0, mh + np.where(sp.is_alpha, alpha, 0.0))
    )
    u1 = partition(sp.pf_neutral, temperature)
    u2 = np.where(sp.z == 1, 1.0, partition(sp.pf_ion, temperature))
    ratio = saha_ratio(u1, u2, sp.ip, temperature, log_pe)
    frac = ratio / (1 + ratio)
    return float(np.sum(eps * frac)), float(1 - frac[0])


def _pressure_mismatch(sp, temperature, log_pe, logg, mh, alpha, tau) -> tuple[float, float]:
    """log(P_g(charge balance) / P_g(hydrostatic)) and n_H at electron pressure 10^log_pe."""
    electrons, neutral_h = _ionization(sp, temperature, log_pe, mh, alpha)
    n_e = 10.0**log_pe / (K_CGS * temperature)
    n_h = n_e / electrons
    p_gas = (n_h * (1 + HELIUM) + n_e) * K_CGS * temperature
    kappa = hminus_opacity(temperature, log_pe) * neutral_h / MASS_PER_H  # [cm2 g-1]
    return float(np.log(p_gas * kappa / (10.0**logg * tau))), n_h


@cache
def formation_depth(t_ratio: float, log_pe_sun: float) -> float:
    """tau_f that puts the Sun's layer at electron pressure 10^log_pe_sun."""
    sp = load_species()
    mismatch, _ = _pressure_mismatch(sp, t_ratio * 5777.0, log_pe_sun, 4.44, 0.0, 0.0, 1.0)
    return float(np.exp(mismatch))


def solve_layer(
    teff: float, logg: float, mh: float, alpha: float, t_ratio: float, log_pe_sun: float
) -> Layer:
    """The layer of a star: P_e from hydrostatic equilibrium, then the chemical equilibrium."""
    sp = load_species()
    temp = t_ratio * teff
    tau = formation_depth(t_ratio, log_pe_sun)

    def f(log_pe: float) -> float:
        return _pressure_mismatch(sp, temp, log_pe, logg, mh, alpha, tau)[0]

    log_pe = brentq(f, -6.0, 5.0, xtol=1e-6)
    _, neutral_h = _ionization(sp, temp, log_pe, mh, alpha)
    chem = equilibrium(sp, temp, log_pe, mh, alpha)
    kappa = hminus_opacity(temp, log_pe) * neutral_h
    return Layer(temp, log_pe, chem.n_h, float(np.log10(kappa)), chem)
