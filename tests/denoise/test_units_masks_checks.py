"""Units (wavelength, f_nu), mask planes by name, and the domain checks on their own."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from pfsdenoise.denoise.checks import domain_warnings, unit_warnings
from pfsdenoise.denoise.masks import mask_planes, rejected
from pfsdenoise.denoise.units import UnitError, flambda_factor, flux_kind, parse_unit, to_angstrom


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("nJy", "f_nu"),
        ("erg/s/cm2/A", "f_lambda"),
        ("1e-17 erg/(s cm2 Angstrom)", "f_lambda"),
        ("electrons", "counts"),
        ("electron/nm", "counts"),
        ("counts", "counts"),
        ("", "unknown"),
    ],
)
def test_flux_units(text, kind):
    assert flux_kind(parse_unit(text, "flux")) == kind


def test_unknown_unit_names_the_option():
    with pytest.raises(UnitError, match="--flux-unit"):
        parse_unit("furlongs per fortnight", "flux")
    with pytest.raises(UnitError, match="not a length"):
        to_angstrom(np.ones(3), u.nJy)


def test_wavelengths_nm_and_air():
    np.testing.assert_allclose(to_angstrom([710.0, 885.0], parse_unit("nm", "wave")), [7100, 8850])
    assert to_angstrom([0.85], u.um)[0] == pytest.approx(8500.0)
    # Ca II triplet, air -> vacuum (SCIENCE.md section 5)
    vac = to_angstrom([8498.02, 8542.09, 8662.14], u.AA, air=True)
    np.testing.assert_allclose(vac, [8500.36, 8544.44, 8664.52], atol=0.01)


def test_f_nu_factor_is_c_over_lambda_squared():
    wave = np.array([7100.0, 8850.0])
    factor = flambda_factor(wave, u.nJy)
    assert factor[0] / factor[1] == pytest.approx((8850 / 7100) ** 2)  # 1.55 across the arm
    assert factor[1] == pytest.approx(1e-32 * 2.99792458e18 / 8850**2)
    assert np.all(flambda_factor(wave, u.Unit("1e-17 erg/(s cm2 Angstrom)")) == 1)


def test_mask_planes_from_headers_and_yaml():
    header = fits.Header()
    header["MP_CR"] = 3
    header["HIERARCH MP_UNMASKEDNAN"] = 11
    assert mask_planes(header) == {"CR": 3, "UNMASKEDNAN": 11}
    assert mask_planes({"MP_BAD": 0, "other": 5}) == {"BAD": 0}
    values = np.array([0, 1 << 3, 1 << 11, 1 << 5])
    assert rejected(values, {"CR": 3, "UNMASKEDNAN": 11, "X": 5}, ("CR", "NO_DATA")).tolist() == [
        False,
        True,
        False,
        False,
    ]
    # no plane names: every set bit is rejected
    assert rejected(values, {}, ("CR",)).tolist() == [False, True, True, True]


def spectrum(snr=20.0, n=400, seed=0):
    rng = np.random.default_rng(seed)
    flux = 1000 + 50 * np.sin(np.arange(n) / 9)
    sigma = np.full(n, 1000 / snr)
    return flux + sigma * rng.standard_normal(n), sigma, np.ones(n, bool)


def test_domain_checks():
    flux, sigma, good = spectrum()
    card = {"snr": {"min": 3.0, "max": 100.0}}
    assert domain_warnings(flux, sigma, good, card=card) == []
    warns = domain_warnings(flux, sigma**2, good, card=card)
    assert any(w.startswith("sigma looks like a variance") for w in warns)
    low = domain_warnings(*spectrum(snr=1.0), card=card)
    assert [w.split(" ")[0] for w in low] == ["S/N"]
    absurd = domain_warnings(flux, sigma * 1e5, good, card={})
    assert any(w.startswith("median sigma/flux") for w in absurd)
    assert unit_warnings("counts", u.electron)[0].startswith("uncalibrated flux (electron)")
    assert unit_warnings("f_nu", u.nJy) == []
