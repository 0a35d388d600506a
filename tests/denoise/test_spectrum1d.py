"""specutils spectra in and out: units on both axes, three kinds of uncertainty, a mask."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from denoise_helpers import ErrorModel

from pfsdenoise.denoise.api import SpectrumDenoiser, SpectrumError
from pfsdenoise.denoise.testdata import to_njy
from pfsdenoise.learn.testdata import toy_spectra

specutils = pytest.importorskip("specutils")
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty  # noqa: E402

WAVE = np.linspace(8400.0, 8700.0, 512)
NM = WAVE / 10
SPECTRUM = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D


@pytest.fixture(scope="module")
def toy():
    t = toy_spectra(2, np.random.default_rng(9), WAVE)
    return {"flux": to_njy(NM, t["flux"]), "sigma": to_njy(NM, t["sigma"]), "mask": t["mask"]}


def spectrum(toy, uncertainty):
    return SPECTRUM(
        flux=toy["flux"] * u.nJy, spectral_axis=NM * u.nm, uncertainty=uncertainty, mask=toy["mask"]
    )


def test_spectrum_in_spectrum_out(model, toy):
    res = model.denoise_spectrum(spectrum(toy, StdDevUncertainty(toy["sigma"])))
    assert isinstance(res, SPECTRUM) and res.flux.unit == u.nJy
    assert res.spectral_axis.unit == u.nm and res.flux.shape == toy["flux"].shape
    assert res.uncertainty is None  # this model gives no sigma of its own
    direct = model.denoise_units(
        NM, toy["flux"], toy["sigma"], toy["mask"], wave_unit=u.nm, flux_unit=u.nJy
    )
    np.testing.assert_allclose(res.flux.value, direct.flux)
    assert np.array_equal(res.mask, direct.mask) and res.mask[toy["mask"]].all()


@pytest.mark.parametrize("kind", [VarianceUncertainty, InverseVariance])
def test_variance_and_inverse_variance_mean_the_same(model, toy, kind):
    values = toy["sigma"] ** 2 if kind is VarianceUncertainty else toy["sigma"] ** -2
    ref = model.denoise_spectrum(spectrum(toy, StdDevUncertainty(toy["sigma"])))
    res = model.denoise_spectrum(spectrum(toy, kind(values)))
    np.testing.assert_allclose(res.flux.value, ref.flux.value, rtol=1e-6)


def test_f_nu_is_converted_not_just_scaled(model, toy):
    """nJy and the same spectrum as f_lambda denoise alike; nJy taken for f_lambda does not."""
    wave = NM * u.nm
    flam = (toy["flux"] * u.nJy).to(u.erg / u.s / u.cm**2 / u.AA, u.spectral_density(wave))
    slam = (toy["sigma"] * u.nJy).to(flam.unit, u.spectral_density(wave))
    as_flam = model.denoise_spectrum(
        SPECTRUM(
            flux=flam,
            spectral_axis=wave,
            mask=toy["mask"],
            uncertainty=StdDevUncertainty(slam.value),
        )
    )
    as_fnu = model.denoise_spectrum(spectrum(toy, StdDevUncertainty(toy["sigma"])))
    back = as_fnu.flux.to(flam.unit, u.spectral_density(wave))
    np.testing.assert_allclose(back.value, as_flam.flux.value, rtol=1e-5)
    wrong = model.denoise_spectrum(
        SPECTRUM(
            flux=toy["flux"] * flam.unit,
            spectral_axis=wave,
            mask=toy["mask"],
            uncertainty=StdDevUncertainty(toy["sigma"]),
        )
    )
    assert np.nanmax(np.abs(wrong.flux.value / as_fnu.flux.value - 1)) > 1e-3


def test_uncertainty_of_a_model_that_gives_one(toy, tmp_path):
    model = SpectrumDenoiser(ErrorModel(WAVE, tmp_path / "fake.pt"))
    res = model.denoise_spectrum(spectrum(toy, StdDevUncertainty(toy["sigma"])))
    assert isinstance(res.uncertainty, StdDevUncertainty)
    good = ~res.mask
    np.testing.assert_allclose(res.uncertainty.array[good], 0.5 * toy["sigma"][good], rtol=1e-5)


def test_a_spectrum_without_uncertainty_is_refused(model, toy):
    with pytest.raises(SpectrumError, match="no uncertainty"):
        model.denoise_spectrum(SPECTRUM(flux=toy["flux"] * u.nJy, spectral_axis=NM * u.nm))
