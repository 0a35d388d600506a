"""Molecular line opacity (TiO, VO, CN, CaH) of the synthetic grid.

Lines come from :mod:`pfsdenoise.grid.diatomic` (positions from spectroscopic constants, Hoenl-
London and Franck-Condon factors, band oscillator strengths); number densities from the
equilibrium of :mod:`pfsdenoise.grid.chemistry` at the model's formation temperature and electron
pressure. Each line enters the same opacity ratio as an atomic line,
``eta0 = K g f (n_mol / n_H) exp(-E'' / kT) / Q_mol(T) (lambda / 8000 A) (c / v_D) / kappa_c``,
with a Gaussian (thermal + microturbulent) profile; ``K`` is the atomic line scale times
``10^log_molecule_scale`` (the one number calibrated on the TiO5 index of M dwarfs).
"""

from __future__ import annotations

import numpy as np

from pfsdenoise.constants import C_KMS, K_CGS
from pfsdenoise.grid.chemistry import AMU, Chemistry, Species
from pfsdenoise.grid.diatomic import molecule_lines, molecule_names
from pfsdenoise.grid.profiles import gaussian_sum

HC_K = 1.438777  # second radiation constant [cm K]


def molecular_opacity(
    wave: np.ndarray,
    temperature: float,
    v_turb: float,
    log_scale: float,
    chem: Chemistry,
    species: Species,
) -> np.ndarray:
    """Opacity ratio of all molecular lines at vacuum wavelengths ``wave`` [A].

    ``log_scale`` = log10 K - log10 kappa_c (line scale over the continuum opacity per H).
    """
    eta = np.zeros_like(wave, dtype=np.float64)
    nu_min, nu_max = 1e8 / float(wave[-1]), 1e8 / float(wave[0])
    lnt = np.log(temperature)
    for name in molecule_names():
        lines = molecule_lines(name, round(nu_min, 3), round(nu_max, 3))
        if not len(lines.wavenumber):
            continue
        k = species.mol_names.index(name)
        log_q = species.mol_pf[k] @ lnt ** np.arange(species.mol_pf.shape[1]) / np.log(10.0)
        log_n = np.log10(max(chem.n_mol[k], 1e-300) / chem.n_h)
        mass = float(species.mol_comp[k] @ species.mass)
        v_dopp = np.sqrt(2 * K_CGS * temperature / (mass * AMU) / 1e10 + v_turb**2)
        lam = 1e8 / lines.wavenumber
        log_eta0 = (
            log_scale
            + np.log10(lines.gf)
            + log_n
            - log_q
            - HC_K * lines.e_low / temperature / np.log(10.0)
            + np.log10(lam / 8000.0)
            - np.log10(v_dopp)
        )
        eta0 = 10.0**log_eta0
        area = eta0 * np.sqrt(np.pi) * lam * v_dopp / C_KMS
        eta += gaussian_sum(wave, lam, area, v_dopp)
    return eta
