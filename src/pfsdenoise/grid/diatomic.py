"""Rotational line lists of diatomic band systems from spectroscopic constants.

Term values: for each electronic state, vibrational level v and total angular momentum J, the
rotational Hamiltonian in the Hund's case (a) basis |Lambda, S, Sigma; J, Omega> (Sigma = -S..S)
is diagonalized: diagonal T_e + G(v) + A Lambda Sigma + B_v x - D_v x^2 + gamma (Sigma^2 - S(S+1))
with x = J(J+1) - Omega^2 + S(S+1) - Sigma^2, off-diagonal spin uncoupling
(-B_v + gamma/2) sqrt(J(J+1) - Omega(Omega+1)) sqrt(S(S+1) - Sigma(Sigma+1)) (Brown & Carrington
2003, *Rotational Spectroscopy of Diatomic Molecules*, ch. 7). This covers case (a), case (b)
and the intermediate coupling of all the states here; Lambda doubling is neglected (each level
of a Lambda > 0 state counts twice).

Line strengths: electric dipole, Delta Sigma = 0, q = Lambda' - Lambda''; the amplitude between
eigenstates is sum_Sigma c'_Sigma c''_Sigma (-1)^(J'-Omega') sqrt(2J'+1) (J' 1 J''; -Omega' q
Omega''), whose square h sums to one over the upper levels of each lower level (the Hoenl-London
factors of the pure cases, normalized per lower level). The band oscillator strength
f_v'v'' = f_sys q_v'v'' nu_v'v'' / nu_00 (Franck-Condon factors of ``molecules_bands.csv``) is
shared among the lines from each lower level in proportion to h.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy.special import gammaln

from pfsdenoise.grid.linedata import read_data

K_CM = 0.6950348  # Boltzmann constant [cm-1 / K]
# Rotational levels up to E_rot = ROT_KT kT at T = T_ROT cover the populated levels of the
# stars where each molecule matters (formation temperatures up to ~4000 K).
ROT_KT = 7.0
T_ROT = 4000.0
H_MIN = 1e-4  # lines with a smaller normalized strength (forbidden in the pure cases) are dropped


@dataclass(frozen=True)
class State:
    """Constants of one electronic state [cm-1] (a row of ``molecules_states.csv``)."""

    molecule: str
    name: str
    mu: float  # reduced mass [u]
    Lambda: int
    S: float
    Te: float
    we: float
    wexe: float
    weye: float
    Be: float
    ae: float
    ge: float
    De: float
    be: float
    A: float
    gamma: float

    def vib(self, v: int) -> float:
        x = v + 0.5
        return self.we * x - self.wexe * x**2 + self.weye * x**3

    def b(self, v: int) -> float:
        x = v + 0.5
        return self.Be - self.ae * x + self.ge * x**2

    def d(self, v: int) -> float:
        return self.De + self.be * (v + 0.5)


@dataclass(frozen=True)
class LineList:
    """Lines of one molecule: vacuum wavenumber [cm-1], lower-level energy above the molecule's
    ground level [cm-1], and g'' f (lower-level degeneracy times line oscillator strength)."""

    molecule: str
    wavenumber: np.ndarray
    e_low: np.ndarray
    gf: np.ndarray


@cache
def states() -> dict[tuple[str, str], State]:
    df = read_data("molecules_states.csv")
    out = {}
    for row in df.to_dict("records"):
        ma, mb = row.pop("mass_a"), row.pop("mass_b")
        row["Lambda"] = int(row["Lambda"])
        key = (row["molecule"], row["state"])
        out[key] = State(name=row.pop("state"), mu=ma * mb / (ma + mb), **row)
    return out


def wigner3j_1(j1, j3, m1, m2, m3) -> np.ndarray:
    """Wigner 3j symbol (j1 1 j3; m1 m2 m3), vectorized (Racah's formula)."""
    j1, j3, m1, m2, m3 = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (j1, j3, m1, m2, m3))
    )
    j2 = 1.0
    ok = (np.abs(m1 + m2 + m3) < 1e-9) & (np.abs(m1) <= j1) & (np.abs(m3) <= j3) & (np.abs(m2) <= 1)
    ok &= (j3 <= j1 + j2) & (j3 >= np.abs(j1 - j2))
    lf = gammaln
    tri = lf(j1 + j2 - j3 + 1) + lf(j1 - j2 + j3 + 1) + lf(-j1 + j2 + j3 + 1) - lf(j1 + j2 + j3 + 2)
    fac = (
        lf(j1 + m1 + 1) + lf(j1 - m1 + 1) + lf(j2 + m2 + 1) + lf(j2 - m2 + 1)
        + lf(j3 + m3 + 1) + lf(j3 - m3 + 1)
    )  # fmt: skip
    total = np.zeros(j1.shape)
    for k in range(3):
        args = (k, j3 - j2 + k + m1, j3 - j1 + k - m2, j1 + j2 - j3 - k, j1 - k - m1, j2 - k + m2)
        valid = ok & np.all([a > -0.5 for a in np.broadcast_arrays(*args)], axis=0)
        den = sum(lf(np.where(valid, a, 0.0) + 1) for a in args)
        term = np.exp(np.where(valid, 0.5 * (tri + fac) - den, -np.inf))
        total += (-1.0) ** k * term
    phase = np.where(np.round(j1 - j2 - m3) % 2 == 0, 1.0, -1.0)
    return np.where(ok, phase * total, 0.0)


def rotational_levels(s: State, v: int, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energies (nJ, 2S+1) and eigenvectors (nJ, 2S+1 basis Sigma, 2S+1 levels).

    Levels that do not exist (|Omega| > J for every admixture) get energy inf.
    """
    sig = np.arange(-s.S, s.S + 0.5)
    om = s.Lambda + sig
    jj = j[:, None] * (j[:, None] + 1)
    bv, dv = s.b(v), s.d(v)
    x = jj - om**2 + s.S * (s.S + 1) - sig**2
    exists = np.abs(om)[None, :] <= j[:, None] + 1e-9
    diag = s.Te + s.vib(v) + s.A * s.Lambda * sig + bv * x - dv * x**2
    diag = diag + s.gamma * (sig**2 - s.S * (s.S + 1))
    n = len(sig)
    h = np.zeros((len(j), n, n))
    h[:, np.arange(n), np.arange(n)] = np.where(exists, diag, 1e9)
    for k in range(n - 1):
        off = (-bv + s.gamma / 2) * np.sqrt(np.maximum(jj[:, 0] - om[k] * (om[k] + 1), 0.0))
        off = off * np.sqrt(s.S * (s.S + 1) - sig[k] * (sig[k] + 1))
        off = np.where(exists[:, k] & exists[:, k + 1], off, 0.0)
        h[:, k, k + 1] = h[:, k + 1, k] = off
    energy, vec = np.linalg.eigh(h)
    energy = np.where(energy > 1e8, np.inf, energy)
    return energy, vec


def j_values(s: State) -> np.ndarray:
    jmax = np.ceil(np.sqrt(ROT_KT * K_CM * T_ROT / s.Be)) + 2
    start = 0.5 if (2 * s.S) % 2 else 0.0
    return np.arange(start, jmax + 1)


def band_lines(up: State, lo: State, vu: int, vl: int, f_band: float):
    """Lines of one band: wavenumber, lower energy (absolute term value), g'' f."""
    q = up.Lambda - lo.Lambda
    j = j_values(lo)
    e_lo, c_lo = rotational_levels(lo, vl, j)
    sig = np.arange(-lo.S, lo.S + 0.5)
    out = []
    for dj in (-1, 0, 1):
        jp = j + dj
        ok = jp >= 0
        jl, jpp = j[ok], jp[ok]
        e_up, c_up = rotational_levels(up, vu, jpp)
        om_u, om_l = up.Lambda + sig, lo.Lambda + sig
        t = wigner3j_1(jpp[:, None], jl[:, None], -om_u[None, :], q, om_l[None, :])
        phase = np.where(np.round(jpp[:, None] - om_u[None, :]) % 2 == 0, 1.0, -1.0)
        t = t * phase * np.sqrt(2 * jpp[:, None] + 1)
        amp = np.einsum("jsa,js,jsb->jab", c_up, t, c_lo[ok])
        h = amp**2
        with np.errstate(invalid="ignore"):  # inf - inf for levels that do not exist
            nu = e_up[:, :, None] - e_lo[ok][:, None, :]
        keep = (h > H_MIN) & np.isfinite(nu)
        jl_b = np.broadcast_to(jl[:, None, None], h.shape)
        g = (2 * jl_b + 1) * (2.0 if lo.Lambda > 0 else 1.0)
        elo = np.broadcast_to(e_lo[ok][:, None, :], h.shape)
        out.append((nu[keep], elo[keep], (g * f_band * h)[keep]))
    return tuple(np.concatenate(a) for a in zip(*out, strict=True))


@cache
def molecule_lines(molecule: str, nu_min: float, nu_max: float) -> LineList:
    """All lines of ``molecule`` with vacuum wavenumber in [nu_min, nu_max] [cm-1]."""
    st = states()
    systems = read_data("molecules_systems.csv")
    bands = read_data("molecules_bands.csv")
    ground_state = next(s for (m, _), s in st.items() if m == molecule and s.Te == 0.0)
    e_ground = float(np.min(rotational_levels(ground_state, 0, j_values(ground_state))[0]))
    parts = []
    for sysrow in systems[systems.molecule == molecule].itertuples(index=False):
        up, lo = st[(molecule, sysrow.upper)], st[(molecule, sysrow.lower)]
        sel = bands[(bands.molecule == molecule) & (bands.system == sysrow.system)]
        nu00 = up.Te - lo.Te + up.vib(0) - lo.vib(0)
        for b in sel.itertuples(index=False):
            f_band = sysrow.f_sys * b.fcf * b.nu0 / nu00
            nu, elo, gf = band_lines(up, lo, int(b.v_up), int(b.v_lo), f_band)
            keep = (nu >= nu_min) & (nu <= nu_max)
            parts.append((nu[keep], elo[keep] - e_ground, gf[keep]))
    if not parts:
        empty = np.zeros(0)
        return LineList(molecule, empty, empty, empty)
    nu, elo, gf = (np.concatenate(a) for a in zip(*parts, strict=True))
    order = np.argsort(nu)
    return LineList(molecule, nu[order], elo[order], gf[order])


def molecule_names() -> list[str]:
    return list(pd.unique(read_data("molecules_systems.csv").molecule))
