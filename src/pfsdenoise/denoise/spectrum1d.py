"""Denoise a ``specutils.Spectrum`` (``Spectrum1D`` on specutils < 2): what astropy users pass
around. Imported lazily: specutils is not a dependency of the package.

The spectral axis and the flux carry their units (f_ν is converted to f_λ and back, :mod:`.units`);
the uncertainty is a ``StdDevUncertainty``, ``VarianceUncertainty`` or ``InverseVariance``; the
mask is boolean (True = bad). The result is a spectrum of the same class on the same spectral
axis: the denoised flux in the input's unit, a ``StdDevUncertainty`` where the model gives one
(else none: the input's uncertainty does not describe the denoised flux), and the mask of
:class:`~pfsdenoise.denoise.api.Denoised` (True where the flux is inpainted or outside the arm).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from pfsdenoise.denoise.arm import SpectrumError
from pfsdenoise.denoise.checks import domain_warnings, unit_warnings
from pfsdenoise.denoise.units import flux_kind

log = logging.getLogger(__name__)


def spectrum_sigma(spectrum: Any, source: str = "spectrum") -> np.ndarray:
    """1σ of a spectrum's uncertainty, whatever kind it is."""
    from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty

    unc = spectrum.uncertainty
    if unc is None:
        raise SpectrumError(
            f"{source}: the spectrum has no uncertainty; give it a StdDevUncertainty, "
            "VarianceUncertainty or InverseVariance (the model needs sigma per pixel)"
        )
    values = np.asarray(unc.array, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(unc, StdDevUncertainty):
            return values
        if isinstance(unc, VarianceUncertainty):
            return np.sqrt(values)
        if isinstance(unc, InverseVariance):
            return 1.0 / np.sqrt(values)
    raise SpectrumError(f"{source}: uncertainty of type {type(unc).__name__} is not supported")


def denoise_spectrum(model: Any, spectrum: Any, *, air: bool = False, batch_size: int = 256) -> Any:
    """Denoise ``spectrum`` (1-D flux, or ``(n, n_pix)`` sharing one spectral axis) with
    ``model`` (a :class:`~pfsdenoise.denoise.api.SpectrumDenoiser`); see the module docstring."""
    from astropy.nddata import StdDevUncertainty

    axis = spectrum.spectral_axis
    flux = spectrum.flux
    sigma = spectrum_sigma(spectrum)
    mask = None if spectrum.mask is None else np.asarray(spectrum.mask, dtype=bool)
    res = model.denoise_units(
        np.asarray(axis.value),
        np.asarray(flux.value),
        sigma,
        mask,
        wave_unit=axis.unit,
        flux_unit=flux.unit,
        air=air,
        batch_size=batch_size,
        source="spectrum",
        errors="raise",
    )
    for text in unit_warnings(flux_kind(flux.unit), flux.unit):
        log.warning("spectrum: %s", text)
    rows = zip(
        np.atleast_2d(flux.value), np.atleast_2d(sigma), np.atleast_2d(res.mask), strict=True
    )
    for row, (f, s, masked) in enumerate(rows):
        with np.errstate(invalid="ignore"):
            good = ~masked & np.isfinite(f) & np.isfinite(s) & (s > 0)
        for text in domain_warnings(f, s, good, card=model.card):
            log.warning("spectrum %d: %s", row, text)
    uncertainty = StdDevUncertainty(res.sigma * flux.unit) if res.sigma is not None else None
    return type(spectrum)(
        flux=res.flux * flux.unit,
        spectral_axis=axis,
        uncertainty=uncertainty,
        mask=np.asarray(res.mask, dtype=bool),
        meta={**dict(spectrum.meta or {}), "denoised_by": model.path},
    )
