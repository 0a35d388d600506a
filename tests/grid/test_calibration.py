"""Calibration of the synthetic model against references we can read (docs/grid.md).

Tolerances state how close the one-layer model gets; tools/calibrate_grid.py prints the
numbers and draws the figures.
"""

import numpy as np
import pytest

from pfsdenoise.grid import indices
from pfsdenoise.grid.build import grid_wave
from pfsdenoise.grid.linedata import load_sun_reference
from pfsdenoise.grid.sun import compare_with_sun, gaussian_lsf
from pfsdenoise.grid.synthetic import synthetic_spectrum


def smoothed(wave, teff, logg, mh, fwhm=1.5):
    flux, cont = synthetic_spectrum(wave, teff, logg, mh, 0.0)
    return gaussian_lsf(wave, flux / cont, fwhm)


@pytest.fixture(scope="module")
def cat_wave():
    return grid_wave(8430.0, 8820.0, 50000)


def test_matches_kurucz_sun_after_mr_lsf():
    r, rms = compare_with_sun()
    assert r >= 0.99
    assert rms <= 0.015


def test_ca_triplet_of_the_sun_within_0p7_angstrom_of_kurucz(cat_wave):
    sw, sf, _ = load_sun_reference()
    kurucz = indices.ca_triplet(sw, sf)["CaT*"]  # the file is at R = 5000 (1.7 A)
    model = indices.ca_triplet(cat_wave, smoothed(cat_wave, 5777.0, 4.44, 0.0, 8600 / 5000))
    assert abs(model["CaT*"] - kurucz) < 0.7


def test_ca_lines_of_horizontal_branch_giants_follow_armandroff_da_costa(cat_wave):
    feh = np.array([-2.2, -1.5, -0.7])
    model = np.array(
        [
            indices.ca_triplet(cat_wave, smoothed(cat_wave, 4800 - 150 * (f + 1.5), 2.3, f))[
                "W8542+8662"
            ]
            for f in feh
        ]
    )
    # within 1.4 A of W = ([Fe/H] + 2.66) / 0.42 (the model's slope is about 60 % of the
    # observed one: too strong at [Fe/H] = -2.2, too weak at -0.7)
    assert np.all(np.abs(model - indices.ca_lines_expected(feh)) < 1.4)
    assert np.all(np.diff(model) > 0.5)


def test_ca_triplet_weakens_in_metal_poor_and_hot_stars(cat_wave):
    cat = {
        key: indices.ca_triplet(cat_wave, smoothed(cat_wave, *key))["CaT*"]
        for key in ((5000.0, 2.5, 0.0), (5000.0, 2.5, -2.0), (6000.0, 4.0, 0.0), (7500.0, 4.0, 0.0))
    }
    assert cat[(5000.0, 2.5, -2.0)] < 0.6 * cat[(5000.0, 2.5, 0.0)]
    assert cat[(7500.0, 4.0, 0.0)] < 0.8 * cat[(6000.0, 4.0, 0.0)]


def test_tio5_of_m_dwarfs_on_the_spectral_type_teff_scale():
    wave = grid_wave(6950.0, 7200.0, 50000)
    teff = np.array([3200.0, 3400.0, 3600.0, 3800.0, 4000.0])
    tio5 = np.array([indices.tio5(wave, smoothed(wave, t, 4.8, 0.0)) for t in teff])
    assert np.all(np.diff(tio5) > 0)  # the band deepens towards cooler dwarfs
    # Teff read off TiO5 (Gizis 1997 + Pecaut & Mamajek 2013) within 200 K from 3400 to
    # 4000 K; at 3200 K (M4) the one-layer band saturates (residual flux >= 1 - r_max)
    resid = indices.teff_from_tio5(tio5) - teff
    assert np.all(np.abs(resid[1:]) < 250)
    assert abs(resid[0]) < 400
