"""Saha ionization and molecular (dissociation) equilibrium at the one-layer model's conditions.

Given the formation temperature T and electron pressure P_e of the synthetic model
(:mod:`pfsdenoise.grid.synthetic`), the density of hydrogen nuclei n_H follows from charge
conservation (the electrons come from the ionized metals and hydrogen), and the free atoms and
molecules from element conservation with the dissociation constants
``K = prod_i (2 pi m_i k T / h^2)^(3/2) / (2 pi M k T / h^2)^(3/2) prod_i Q_i / Q_mol exp(-D0 / kT)``
(number densities; Q: Irwin partition functions of atoms, ``linelist_species.csv``, and of
molecules, ``molecules_equilibrium.csv``; D0 from the same file). The molecules are those that
bind a noticeable share of H, C, N, O, Mg, Si, Ca, Ti, V or Fe in cool atmospheres (H2, CO, H2O,
OH, N2, CN, TiO, TiO2, VO, SiO, ...; Tsuji 1973, A&A 23, 411).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import brentq

from pfsdenoise.constants import H_CGS, K_CGS
from pfsdenoise.grid.linedata import ALPHA_ELEMENTS, read_data

K_EV = 8.617333262e-5
AMU = 1.66053907e-24
CHI_ION_H = 13.598  # [eV]
MASS_H = 1.008


@dataclass(frozen=True)
class Species:
    """Per-element data (Z order) and the molecules of the equilibrium."""

    z: np.ndarray
    abund_sun: np.ndarray  # A(X) = 12 + log eps
    ip: np.ndarray  # first ionization potential [eV]
    mass: np.ndarray
    pf_neutral: np.ndarray  # Irwin ln U coefficients
    pf_ion: np.ndarray
    is_alpha: np.ndarray
    mol_names: tuple[str, ...]
    mol_comp: np.ndarray  # (n_mol, n_elements) atoms of each element in each molecule
    mol_d0: np.ndarray  # [eV]
    mol_pf: np.ndarray  # (n_mol, 9) ln Q coefficients


@dataclass(frozen=True)
class Chemistry:
    """Equilibrium at one (T, P_e, abundances): densities per cm3 of H nuclei and electrons,
    free neutral atoms per element (``Species.z`` order) and molecules (``Species.mol_names``)."""

    n_h: float
    n_e: float
    n_atom: np.ndarray
    n_mol: np.ndarray
    eps: np.ndarray  # number abundance relative to H of each element
    ion_ratio: np.ndarray  # N_II / N_I from Saha

    def free_fraction(self) -> np.ndarray:
        """Share of each element in atoms and ions (not locked in molecules)."""
        return self.n_atom * (1 + self.ion_ratio) / (self.eps * self.n_h)

    def molecule(self, name: str, species: Species) -> float:
        return float(self.n_mol[species.mol_names.index(name)])


def partition(coeffs: np.ndarray, temperature: float) -> np.ndarray:
    """Irwin (1981) partition functions: ln U = sum_k a_k (ln T)^k (row-wise coefficients)."""
    lnt = np.log(temperature)
    return np.exp(coeffs @ lnt ** np.arange(coeffs.shape[1]))


def saha_ratio(u1, u2, ip, temperature: float, log_pe: float) -> np.ndarray:
    """N_II / N_I: log = log(2 U_II / U_I) + 2.5 log T - 0.1762 - log P_e - theta chi."""
    theta = 5040.0 / temperature
    return 10.0 ** (
        np.log10(2 * u2 / u1) + 2.5 * np.log10(temperature) - 0.1762 - log_pe - theta * ip
    )


@cache
def load_species() -> Species:
    sp = read_data("linelist_species.csv")
    coeffs = [f"a{k}" for k in range(6)]
    neutral, ion = sp[sp.ion == 1].set_index("z"), sp[sp.ion == 2].set_index("z")
    z = np.array([1, *neutral.index.to_numpy()])
    h_pf = np.zeros((1, 6))
    h_pf[0, 0] = np.log(2.0)  # U(H I) = 2, U(H II) = 1
    mol = read_data("molecules_equilibrium.csv")
    comp = np.zeros((len(mol), len(z)))
    for i, text in enumerate(mol.composition):
        for part in text.split(";"):
            el, count = (int(x) for x in part.split("*"))
            if el not in z:
                raise ValueError(
                    f"molecules_equilibrium.csv: {mol.species[i]} needs element {el}, which is "
                    "not in linelist_species.csv; rerun tools/derive_linelist.py"
                )
            comp[i, np.flatnonzero(z == el)[0]] = count
    return Species(
        z=z,
        abund_sun=np.array([12.0, *neutral.abund_sun]),
        ip=np.array([CHI_ION_H, *neutral.ip]),
        mass=np.array([MASS_H, *neutral.mass]),
        pf_neutral=np.vstack([h_pf, neutral[coeffs].to_numpy()]),
        pf_ion=np.vstack([np.zeros((1, 6)), ion.loc[neutral.index, coeffs].to_numpy()]),
        is_alpha=np.isin(z, ALPHA_ELEMENTS),
        mol_names=tuple(mol.species),
        mol_comp=comp,
        mol_d0=mol.d0.to_numpy(),
        mol_pf=mol[[f"a{k}" for k in range(9)]].to_numpy(),
    )


def log_dissociation(sp: Species, temperature: float) -> np.ndarray:
    """ln K [cm^(-3 (atoms - 1))] of each molecule: prod n_atom^nu / n_mol."""
    kt = K_CGS * temperature
    trans = 1.5 * np.log(2 * np.pi * sp.mass * AMU * kt / H_CGS**2)  # ln (2 pi m k T/h^2)^1.5
    ln_q_atom = np.log(partition(sp.pf_neutral, temperature))
    ln_q_mol = sp.mol_pf @ np.log(temperature) ** np.arange(sp.mol_pf.shape[1])
    mass_mol = sp.mol_comp @ sp.mass
    trans_mol = 1.5 * np.log(2 * np.pi * mass_mol * AMU * kt / H_CGS**2)
    return (
        sp.mol_comp @ (trans + ln_q_atom) - trans_mol - ln_q_mol - sp.mol_d0 / (K_EV * temperature)
    )


def _solve_atoms(sp, total, ion, ln_k, x0):
    """Newton solve (steps clipped to e^5) of element conservation for ln n(free atoms)."""
    comp = sp.mol_comp
    x = x0.copy()
    for _ in range(200):
        mol = np.exp(np.minimum(comp @ x - ln_k, 700.0))
        tot = np.exp(x) * (1 + ion) + comp.T @ mol
        f = np.log(tot) - np.log(total)
        if np.max(np.abs(f)) < 1e-9:
            break
        jac = (np.diag(np.exp(x) * (1 + ion)) + (comp.T * mol) @ comp) / tot[:, None]
        x = x - np.clip(np.linalg.solve(jac, f), -5.0, 5.0)
    else:
        raise RuntimeError("molecular equilibrium did not converge")
    return x, np.exp(comp @ x - ln_k)


def equilibrium(
    sp: Species, temperature: float, log_pe: float, mh: float, alpha: float
) -> Chemistry:
    """Densities at temperature T [K] and electron pressure 10^log_pe [dyn cm-2]."""
    eps = 10.0 ** (
        sp.abund_sun - 12.0 + np.where(sp.z == 1, 0.0, mh + np.where(sp.is_alpha, alpha, 0.0))
    )
    u1 = partition(sp.pf_neutral, temperature)
    u2 = np.where(sp.z == 1, 1.0, partition(sp.pf_ion, temperature))
    ion = saha_ratio(u1, u2, sp.ip, temperature, log_pe)
    ln_k = log_dissociation(sp, temperature)
    n_e = 10.0**log_pe / (K_CGS * temperature)

    last = {}

    def solve(ln_nh: float):
        total = eps * np.exp(ln_nh)
        x0 = np.log(total / (1 + ion))
        if "x" in last:  # warm start: previous solution shifted to the new density
            x0 = np.minimum(last["x"] + ln_nh - last["ln_nh"], x0)
        x, mol = _solve_atoms(sp, total, ion, ln_k, x0)
        last.update(x=x, ln_nh=ln_nh)
        return x, mol

    def excess(ln_nh: float) -> float:  # log(sum N_II / n_e): charge conservation at zero
        try:
            x, _ = solve(ln_nh)
        except RuntimeError:
            last.clear()
            return 50.0
        return float(np.log(np.sum(ion * np.exp(x)) / n_e))

    # n_H between full ionization and an ionized fraction of 1e-12 (or n_H = 1e22 cm-3)
    lo, hi = np.log(n_e), min(np.log(n_e) + 27.6, np.log(1e22))
    ln_nh = brentq(excess, lo, hi, xtol=1e-6) if excess(hi) > 0 else hi
    x, mol = solve(ln_nh)
    return Chemistry(
        n_h=float(np.exp(ln_nh)), n_e=n_e, n_atom=np.exp(x), n_mol=mol, eps=eps, ion_ratio=ion
    )
