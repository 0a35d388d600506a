"""The synthetic model: Sun calibration and the physical trends the grid must show."""

import numpy as np
import pytest

from pfsdenoise.grid.build import grid_wave
from pfsdenoise.grid.chemistry import equilibrium, load_species
from pfsdenoise.grid.sun import compare_with_sun
from pfsdenoise.grid.synthetic import (
    ModelParameters,
    largest_depth,
    planck_surface_flux,
    synthetic_spectrum,
)


@pytest.fixture(scope="module")
def wave():
    return grid_wave(7000.0, 8900.0, 50000)


def band(wave, flux, lo, hi):
    sel = (wave > lo) & (wave < hi)
    return flux[sel].mean()


def test_a_poorly_calibrated_model_fails_the_sun_check():
    _, rms = compare_with_sun(ModelParameters(log_line_scale=11.0))
    assert rms > 0.02


def test_continuum_is_planck_and_flux_below_it(wave):
    flux, cont = synthetic_spectrum(wave, 5000, 4.5, 0.0, 0.0)
    np.testing.assert_allclose(cont, planck_surface_flux(wave, 5000 * 1.056))
    assert np.all(flux > 0) and np.all(flux <= cont)
    # surface flux of a blackbody integrates to sigma T^4: order of magnitude check at 8000 A
    assert 1e6 < cont[len(wave) // 2] < 1e8


def test_metallicity_deepens_lines_and_ca_triplet_is_strong(wave):
    depth = {}
    for mh in (-2.0, 0.0):
        f, c = synthetic_spectrum(wave, 4500, 2.0, mh, 0.0)
        depth[mh] = 1 - (f / c).mean()
    assert depth[0.0] > 2 * depth[-2.0]
    f, c = synthetic_spectrum(wave, 5000, 4.5, 0.0, 0.0)
    r = f / c
    ca = r[np.abs(wave - 8544.44) < 0.3].min()
    assert ca < 0.5


def test_paschen_lines_appear_in_hot_stars(wave):
    def p12_depth(teff):
        f, c = synthetic_spectrum(wave, teff, 4.0, 0.0, 0.0)
        r = f / c
        return 1 - r[np.abs(wave - 8752.9) < 0.3].min()

    assert p12_depth(5000) < 0.1 < p12_depth(7000) < p12_depth(7500)


def test_cn_red_bands_in_k_giants_not_in_g_dwarfs():
    wave = grid_wave(7870.0, 8000.0, 50000)  # CN red (2,0) band
    no_molecules = ModelParameters(log_molecule_scale=-10.0)

    def molecular_deficit(teff, logg):
        f, c = synthetic_spectrum(wave, teff, logg, 0.0, 0.0)
        f0, c0 = synthetic_spectrum(wave, teff, logg, 0.0, 0.0, no_molecules)
        return (f0 / c0).mean() - (f / c).mean()

    assert molecular_deficit(4500, 1.0) > 0.01 > 0.003 > molecular_deficit(5500, 4.5)


def test_molecular_equilibrium_locks_carbon_in_co_and_titanium_in_tio():
    sp = load_species()
    z = list(sp.z)
    giant = equilibrium(sp, 3900.0, -0.2, 0.0, 0.0)
    dwarf = equilibrium(sp, 3050.0, 0.3, 0.0, 0.0)
    # C/O = 0.55: CO takes most of the carbon in a K giant; TiO a share of Ti in an M dwarf
    assert giant.free_fraction()[z.index(6)] < 0.1
    assert dwarf.free_fraction()[z.index(22)] < 0.9
    tio = sp.mol_names.index("TiO")
    assert dwarf.n_mol[tio] / dwarf.n_h > 100 * giant.n_mol[tio] / giant.n_h


def test_saturated_lines_are_deeper_in_cool_stars_and_in_the_blue():
    p = ModelParameters()
    wave = np.array([7000.0, 8000.0, 8800.0])
    sun = largest_depth(p, wave, 5777.0)
    assert sun[1] == pytest.approx(p.r_max)
    assert np.all(np.diff(sun) < 0)
    assert np.all(largest_depth(p, wave, 3500.0) > sun) and np.all(
        largest_depth(p, wave, 7000.0) < sun
    )
    fixed = ModelParameters(r_max_scales=False)
    np.testing.assert_array_equal(largest_depth(fixed, wave, 3500.0), p.r_max)
