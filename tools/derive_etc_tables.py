"""Derive the compact ETC tables that pfsdenoise ships, from the Subaru PFS ETC reference data.

Source: Subaru PFS Exposure Time Calculator (github.com/Subaru-PFS/spt_ExposureTimeCalculator,
package ``pfsspecsim``), MIT licence, © Subaru PFS Project, commit
aac84fa2a571f3ed7ffa58749a6a5762586e9320. The original files are read from a local copy
(default ``../shared/data/pfs-etc``) and are not part of this repository; only the slices the MR
red arm needs are written, each with a citation header.

Usage: ``python tools/derive_etc_tables.py [--source DIR] [--out src/pfsdenoise/data]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pfsdenoise.atomic import atomic_path

CITATION = (
    "Derived from the Subaru PFS Exposure Time Calculator (Subaru-PFS/spt_ExposureTimeCalculator,"
    " pfsspecsim),\nMIT licence, (c) Subaru PFS Project, commit"
    " aac84fa2a571f3ed7ffa58749a6a5762586e9320,\nby tools/derive_etc_tables.py of pfsdenoise."
)
# Wavelength span kept [nm]: the MR arm 710-885 nm plus the 32-pixel (1.4 nm) half-width over
# which the ETC spreads a sky line, rounded outwards.
KEEP_NM = (705.0, 890.0)
MR_ARM_INDEX = 1  # PARAM 1 / second THRPUT block of PFS.redMR.20211220.dat is the MR red arm


def air_to_vacuum_nm(lam_air: np.ndarray) -> np.ndarray:
    """Air → vacuum wavelength [nm] with the Edlén (1953) index of refraction, as in the ETC."""

    def n_air(lam_vac: np.ndarray) -> np.ndarray:
        s2 = 1e6 / lam_vac**2
        return 1.000064328 + 0.0294981 / (146.0 - s2) + 0.0002554 / (41.0 - s2)

    lam_vac = np.array(lam_air, dtype=np.float64)
    for _ in range(10):  # fixed-point iteration; converges to < 1e-10 nm
        lam_vac = lam_vac + (lam_air - lam_vac / n_air(lam_vac))
    return lam_vac


def _write(path: Path, header: str, columns: list[np.ndarray], fmt: str) -> None:
    text_header = CITATION + "\n" + header
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.column_stack(columns), fmt=fmt, header=text_header)
    print(f"wrote {path} ({len(columns[0])} rows)")


def throughput_block(config_file: Path, arm: int) -> np.ndarray:
    """Rows (λ [nm], 5 factors, product) of one arm's THRPUT block of an ETC config file."""
    blocks: list[list[list[float]]] = []
    inside = False
    for line in config_file.read_text().splitlines():
        if line.startswith("THRPUT"):
            inside, blocks = True, [[]]
            continue
        if not inside:
            continue
        if line.startswith("D"):
            blocks.append([])
            continue
        fields = line.split()
        if len(fields) == 7:
            blocks[-1].append([float(f) for f in fields])
    if len(blocks) <= arm or not blocks[arm]:
        raise ValueError(f"{config_file}: no THRPUT block for arm {arm}")
    return np.array(blocks[arm])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data/pfs-etc"))
    parser.add_argument("--out", type=Path, default=Path("src/pfsdenoise/data"))
    args = parser.parse_args(argv)
    src, out = args.source, args.out
    model = np.load(src / "modeldata.npz")
    lo, hi = KEEP_NM

    thr = throughput_block(src / "PFS.redMR.20211220.dat", MR_ARM_INDEX)
    _write(
        out / "etc_mr_throughput.txt",
        "MR red arm throughput, PFS.redMR.20211220.dat (THRPUT block of arm 1), telescope to\n"
        "detector, excluding atmosphere and fibre aperture.\ncolumns: wavelength [nm], throughput",
        [thr[:, 0], thr[:, 6]],
        "%.1f %.4f",
    )

    lam_vac = air_to_vacuum_nm(model["uves_lambda"])
    keep = (lam_vac > lo) & (lam_vac < hi)
    oh = model["oh_data"]
    n_oh = int(((oh[:, 0] > lo) & (oh[:, 0] < hi)).sum())
    _write(
        out / "etc_mr_skylines.txt",
        "Sky emission lines: UVES sky atlas (Hanuschik 2003, A&A 407, 1157) as shipped in the ETC's\n"
        f"modeldata (uves_lambda, uves_int), converted air->vacuum (Edlen 1953), {lo}-{hi} nm.\n"
        f"The ETC's near-IR OH list (oh_data) has {n_oh} lines in this range.\n"
        "Intensities are referenced to airmass 1.1.\n"
        "columns: vacuum wavelength [nm], intensity [1e-12 erg m^-2 s^-1 arcsec^-2]",
        [lam_vac[keep], model["uves_int"][keep]],
        "%.4f %.6g",
    )

    kp = model["atm_trans_kp"]
    lam_kp = 500.0 + 0.025 * np.arange(kp.size)
    keep = (lam_kp >= lo) & (lam_kp <= hi)
    _write(
        out / "etc_mr_telluric.txt",
        "Telluric line transmission: Kitt Peak atlas as shipped in the ETC (atm_trans_kp,\n"
        "500 nm + 0.025 nm * i), used by the ETC below 900 nm at every zenith angle.\n"
        "columns: wavelength [nm], transmission",
        [lam_kp[keep], kp[keep]],
        "%.3f %.5f",
    )

    si = model["si_index_table"]
    _write(
        out / "etc_si_index.txt",
        "Real refractive index of silicon (D. Groom 1998 table, via the ETC), 200 nm + 5 nm * i.\n"
        "columns: wavelength [nm], n",
        [200.0 + 5.0 * np.arange(si.size), si],
        "%.1f %.4f",
    )
    _write_reference(src, out)


def _write_reference(src: Path, out: Path) -> None:
    """The ETC's own output for its reference run, MR arm (id 3): per-pixel sky and variance
    (every 4th pixel) and the median S/N per pixel at AB 18-22 (signal scaled by 10^-0.4(m-18))."""
    noise = np.loadtxt(src / "noise_mr.dat")
    noise = noise[noise[:, 0] == 3]
    snc = np.loadtxt(src / "snc_mr.dat")
    snc = snc[snc[:, 0] == 3]
    signal, var_noobj = snc[:, 4], snc[:, 5]
    n_exp = 8  # gsetc_params_mr.txt
    medians = []
    for mag in (18, 19, 20, 21, 22):
        s = signal * 10 ** (-0.4 * (mag - 18))
        medians.append(np.median(s * np.sqrt(n_exp) / np.sqrt(s + var_noobj)))
    header = (
        'ETC reference run (gsetc_params_mr.txt: PFS.redMR.20211220.dat, sky 11005, seeing 0.8",\n'
        "zenith 45 deg, field angle 0.675 deg, Moon ZA 30 deg, sep 60 deg, phase 0, 8 x 900 s,\n"
        'sky-sub floor 0.01, diffuse stray 0.02, r_eff 0.3" exponential, flat AB spectrum),\n'
        "outputs noise_mr.dat and snc_mr.dat, MR red arm (id 3), every 4th pixel.\n"
        "median S/N per pixel (8 exposures), AB 18 19 20 21 22: "
        + " ".join(f"{m:.2f}" for m in medians)
        + f"\nmedian sky [e-/pix/exp]: {np.median(noise[:, 4]):.1f}; "
        f"median variance without object [e2/pix/exp]: {np.median(noise[:, 3]):.1f}\n"
        "columns: pixel, vacuum wavelength [nm, pixel centre], variance without object "
        "[e2/pixel/exposure], sky [e-/pixel/exposure], object signal at AB 18 [e-/pixel/exposure]"
    )
    sel = slice(0, None, 4)
    _write(
        out / "etc_mr_reference.txt",
        header,
        [noise[sel, 1], noise[sel, 2], noise[sel, 3], noise[sel, 4], signal[sel]],
        "%d %.4f %.5e %.5e %.5e",
    )
    _write(
        out / "etc_mr_reference_snr.txt",
        "Median S/N per pixel over the MR red arm (id 3, 4096 pixels) of the ETC reference run\n"
        "(gsetc_params_mr.txt, 8 x 900 s; with the ETC's 2025 calibration, commit 1d085f2):\n"
        "signal of snc_mr.dat scaled by 10^(-0.4 (m - 18)), S/N = s sqrt(8) / sqrt(s + variance\n"
        "without object).\ncolumns: AB magnitude (flat spectrum), median S/N per pixel",
        [np.array([18, 19, 20, 21, 22]), np.array(medians)],
        "%d %.3f",
    )


if __name__ == "__main__":
    main()
