"""Calibration checks of the synthetic model against published relations, with figures.

    python tools/calibrate_grid.py docs/figures [--fit-molecules]

* the Kurucz Sun (r and rms after the MR LSF; CaT* of both);
* Ca II triplet: CaT* (Cenarro et al. 2001) against Teff, log g and [M/H]; W(8542) + W(8662)
  of horizontal-branch giants against the Armandroff & Da Costa (1991) metallicity scale;
* TiO5 (Reid, Hawley & Gizis 1995) of solar-metallicity M dwarfs against the Gizis (1997)
  spectral-type relation on the Pecaut & Mamajek (2013) Teff scale. ``--fit-molecules`` scans
  ``log_molecule_scale`` and prints the value with the least rms Teff residual (3400-4000 K).

Writes ``grid_calibration_cat.png``,
``grid_calibration_tio5.png`` and ``grid_mdwarfs.png`` and prints the numbers.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.grid import indices
from pfsdenoise.grid.build import grid_wave
from pfsdenoise.grid.linedata import load_sun_reference
from pfsdenoise.grid.sun import MR_FWHM, SUN_PARAMS, compare_with_sun, gaussian_lsf
from pfsdenoise.grid.synthetic import ModelParameters, synthetic_spectrum

CENARRO_FWHM = 1.5  # [A], resolution of the Cenarro et al. (2001) library
DWARF_LOGG = 4.8  # M dwarfs of 3200-4000 K (Pecaut & Mamajek 2013: log g ~ 4.7-5.0)
TIO_TEFF = (3200.0, 3400.0, 3600.0, 3800.0, 4000.0)
HB_FEH = (-2.2, -1.8, -1.5, -1.1, -0.7)


def hb_giant(feh: float) -> tuple[float, float]:
    """Teff, log g of a red giant at the horizontal-branch level (~4900 K at [Fe/H] = -2.2 to
    ~4700 K at -0.7; log g 2.3; Girardi et al. 2000-like isochrones of 12 Gyr)."""
    return 4800.0 - 150.0 * (feh + 1.5), 2.3


def save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def smoothed(wave, teff, logg, mh, params, fwhm=CENARRO_FWHM):
    flux, cont = synthetic_spectrum(wave, teff, logg, mh, 0.0, params)
    return gaussian_lsf(wave, flux / cont, fwhm)


def tio5_sequence(params: ModelParameters) -> np.ndarray:
    wave = grid_wave(6950.0, 7200.0, 50000)
    return np.array(
        [indices.tio5(wave, smoothed(wave, t, DWARF_LOGG, 0.0, params)) for t in TIO_TEFF]
    )


def fit_molecule_scale(params: ModelParameters) -> float:
    best = None
    for scale in np.arange(-1.0, 0.61, 0.1):
        p = replace(params, log_molecule_scale=float(scale))
        resid = indices.teff_from_tio5(tio5_sequence(p)) - np.array(TIO_TEFF)
        rms = float(np.sqrt(np.mean(resid[1:] ** 2)))
        print(
            f"log_molecule_scale {scale:+.1f}: Teff(TiO5) - Teff = {np.round(resid)} rms {rms:.0f}"
        )
        if best is None or rms < best[1]:
            best = (float(scale), rms)
    return best[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--fit-molecules", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    p = ModelParameters()
    if args.fit_molecules:
        print(f"best log_molecule_scale: {fit_molecule_scale(p):+.1f}")

    # the Sun (its figure: tools/plot_grid.py, sun_comparison.png)
    r, rms = compare_with_sun(p)
    sw, sf, _ = load_sun_reference()
    wave = grid_wave(8430.0, 8820.0, 50000)
    # the Kurucz file is at R = 5000 (1.7 A at 8600 A): the model gets the same resolution
    cat_sun = indices.ca_triplet(sw, sf)
    cat_model_sun = indices.ca_triplet(wave, smoothed(wave, *SUN_PARAMS[:3], p, 8600.0 / 5000))
    print(f"Sun: r = {r:.4f}, rms = {100 * rms:.2f} %")
    print(f"CaT* Kurucz Sun {cat_sun['CaT*']:.2f} A, model {cat_model_sun['CaT*']:.2f} A")

    # Ca II triplet
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    teffs = np.arange(3600.0, 7501.0, 300.0)
    for logg, style in ((1.5, "-"), (3.0, "--"), (4.5, ":")):
        for mh, color in ((0.0, "C0"), (-1.0, "C1"), (-2.0, "C2")):
            cat = [indices.ca_triplet(wave, smoothed(wave, t, logg, mh, p))["CaT*"] for t in teffs]
            ax[0].plot(teffs, cat, style, color=color, label=f"log g {logg}, [M/H] {mh}")
    ax[0].axhline(cat_sun["CaT*"], color="k", lw=0.5)
    ax[0].plot([5777], [cat_sun["CaT*"]], "k*", ms=10, label="Kurucz Sun")
    ax[0].set_xlabel("Teff [K]")
    ax[0].set_ylabel("CaT* [A] (Cenarro et al. 2001)")
    ax[0].legend(fontsize=6)
    loggs = np.arange(0.5, 5.01, 0.5)
    for teff in (4000.0, 4500.0, 5000.0, 6000.0):
        cat = [indices.ca_triplet(wave, smoothed(wave, teff, g, 0.0, p))["CaT*"] for g in loggs]
        ax[1].plot(loggs, cat, label=f"Teff {teff:g}")
    ax[1].set_xlabel("log g")
    ax[1].legend(fontsize=7)
    model = []
    for feh in HB_FEH:
        teff, logg = hb_giant(feh)
        model.append(indices.ca_triplet(wave, smoothed(wave, teff, logg, feh, p))["W8542+8662"])
    ref = indices.ca_lines_expected(np.array(HB_FEH))
    ax[2].plot(HB_FEH, model, "o-", label="model, HB-level giants")
    ax[2].plot(HB_FEH, ref, "k--", label="Armandroff & Da Costa 1991")
    ax[2].set_xlabel("[Fe/H]")
    ax[2].set_ylabel("W(8542) + W(8662) [A]")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    save(fig, out / "grid_calibration_cat.png")
    print(
        "HB giants [Fe/H], model, AD91:",
        list(zip(HB_FEH, np.round(model, 2), np.round(ref, 2), strict=True)),
    )

    # TiO5
    tio = tio5_sequence(p)
    fine = np.linspace(3050.0, 4050.0, 50)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(fine, indices.tio5_expected(fine), "k--", label="Gizis 1997 + Pecaut & Mamajek 2013")
    ax.plot(TIO_TEFF, tio, "o-", label=f"model, log g {DWARF_LOGG}, [M/H] 0")
    ax.set_xlabel("Teff [K]")
    ax.set_ylabel("TiO5 (Reid et al. 1995)")
    ax.legend(fontsize=8)
    save(fig, out / "grid_calibration_tio5.png")
    print("TiO5 Teff, model, expected, Teff(TiO5):")
    for t, v in zip(TIO_TEFF, tio, strict=True):
        print(
            f"  {t:.0f} {v:.3f} {float(indices.tio5_expected(t)):.3f} {float(indices.teff_from_tio5(v)):.0f}"
        )

    # M dwarfs and K-M giants after the MR LSF
    wave = grid_wave(7000.0, 8900.0, 50000)
    fig, ax = plt.subplots(figsize=(12, 6))
    stars = ((4500, 2.0), (3900, 1.5), (4000, 4.7), (3600, 4.8), (3200, 5.0))
    for k, (teff, logg) in enumerate(stars):
        s = smoothed(wave, teff, logg, 0.0, p, MR_FWHM)
        ax.plot(wave / 10, s + 0.5 * k, lw=0.6, label=f"{teff}/{logg}/0")
    ax.set_xlabel("vacuum wavelength [nm]")
    ax.set_ylabel("flux / continuum (offset)")
    ax.legend(fontsize=7, loc="lower right")
    save(fig, out / "grid_mdwarfs.png")


if __name__ == "__main__":
    main()
