"""Atmosphere, sky and fibre aperture of the PFS ETC noise model (Hirata et al. 2012).

Sky emission lines (UVES atlas, Hanuschik 2003) scaled with airmass and extinction, a smooth
sky continuum (the ETC's "modified Gunn" magnitude law) times airmass and telluric
transmission, moonlight after Krisciunas & Schaefer (1991, PASP 103, 1033), Mauna Kea
continuum extinction, and the point-source (or exponential-profile) fraction of light
entering a fibre for Kolmogorov seeing. All functions are vectorized numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.special import j0, j1

from pfsdenoise.observe.instrument import ARCSEC_PER_URAD, Instrument

RATIO_HALF_LIGHT_TO_SCALE = 1.67834  # exponential profile: r_eff / r_scale


def airmass(zenith_deg) -> np.ndarray:
    """Airmass X = 1/√(1 − 0.96 sin² z) (the ETC's formula)."""
    s = np.sin(np.radians(zenith_deg))
    return 1.0 / np.sqrt(1.0 - 0.96 * s * s)


def extinction_mag_per_airmass(wave_nm) -> np.ndarray:
    """Median Mauna Kea continuum extinction [mag/airmass] (Boulade 1988; CFHT Observers
    Manual, via the ETC): piecewise linear, 0.10 at 700 nm, 0.07 at 800, 0.05 beyond 900."""
    nodes = [310, 320, 340, 360, 380, 400, 450, 500, 550, 600, 650, 700, 800, 900]
    k = [1.37, 0.82, 0.51, 0.37, 0.30, 0.25, 0.17, 0.13, 0.12, 0.11, 0.11, 0.10, 0.07, 0.05]
    return np.interp(wave_nm, nodes, k)


def sky_continuum_photons(wave_nm) -> np.ndarray:
    """Dark-sky continuum above the atmosphere at airmass 1 [photons s⁻¹ m⁻² arcsec⁻² nm⁻¹]:
    the ETC's modified Gunn fit (sky type 5; K. Yabe & Y. Moritani 2015), in AB mag/arcsec²."""
    lam = np.asarray(wave_nm, dtype=np.float64)
    red = lam > 600
    mag = (
        np.where(red, 24.316, 27.166)
        + np.where(red, -5.199e-3, -1.419e-2) * lam
        + np.where(red, 1.465e-6, 8.541e-6) * lam**2
        - 0.55 * np.exp(-0.005 * (lam - 594) ** 2)
        - 6.14656e9 / lam**4
    )
    flam_1e11 = 0.01089 * 10 ** (0.4 * (22.5 - mag)) * 1e6 / lam**2  # 1e-11 erg/s/m²/nm/as²
    return flam_1e11 * 1e-11 * 5.03411747e8 * lam


def moon_brightness_components(
    phase, separation_deg, moon_zenith_deg, zenith_deg, k_v: float
) -> tuple[np.ndarray, np.ndarray]:
    """Krisciunas & Schaefer (1991) V-band moonlight [nanoLambert], split into its Rayleigh
    (f1) and Mie (f2) scattering parts so that each multiplies its own spectral shape.

    ``phase``: 0 = new, 0.5 = full, 1 = new (ETC convention). Zero for a Moon at or below the
    horizon (zenith angle ≥ 90°).
    """
    phase = np.asarray(phase, dtype=np.float64)
    alpha = 360.0 * np.abs(phase - np.floor(phase) - 0.5)  # lunar phase angle [deg]
    i_star = 10 ** (-0.4 * (3.84 + 0.026 * alpha + 4e-9 * alpha**4))
    i_star = np.where(alpha < 7, i_star * (1.35 - 0.05 * alpha), i_star)  # opposition surge
    rho = np.radians(separation_deg)
    f1 = 2.29e5 * (1.06 + np.cos(rho) ** 2)
    f2 = 10 ** (6.15 - np.asarray(separation_deg) / 40.0)
    moon_za = np.asarray(moon_zenith_deg, dtype=np.float64)
    path = 10 ** (-0.4 * k_v * airmass(np.minimum(moon_za, 89.9)))
    scatter = 1 - 10 ** (-0.4 * k_v * airmass(zenith_deg))
    common = np.where(moon_za < 90, i_star * path * scatter, 0.0)
    return f1 * common, f2 * common


def moon_spectral_shapes(wave_nm) -> tuple[np.ndarray, np.ndarray]:
    """Spectral shapes of Rayleigh- and Mie-scattered moonlight [photons s⁻¹ m⁻² arcsec⁻² nm⁻¹
    per nanoLambert]: a 5800 K blackbody (kT = hc/2480 nm) × λ^−7 resp. λ^−4.3 per ln λ,
    normalized at 550 nm (CFHT Redeye colour model via the ETC); 3.408e10 nL is a 0 mag/as²
    source, which gives 5.48e10 photons s⁻¹ m⁻² per ln λ."""
    lam = np.asarray(wave_nm, dtype=np.float64)
    planck = np.expm1(2480.0 / 550.0) / np.expm1(2480.0 / lam)
    conv = 5.48e10 / 3.408e10 / 550.0
    return conv * planck * (lam / 550) ** -7.0, conv * planck * (lam / 550) ** -4.3


def fibre_aperture_factor(
    inst: Instrument,
    wave_nm,
    seeing_fwhm_800: float,
    field_angle: float,
    r_eff_arcsec: float = 0.0,
    offset_arcsec: float = 0.0,
) -> np.ndarray:
    """Fraction of a source's light entering the fibre (ETC geometric throughput).

    Hankel-space integral of the fibre disk against the PSF: Kolmogorov seeing (MTF
    exp(−(u/u₀)^{5/3}), u₀ = 0.465/FWHM (λ/800 nm)^0.2), the telescope's rms spot (Gaussian),
    a leading-order diffraction term, and an exponential source profile of half-light radius
    ``r_eff_arcsec`` (0 = point source).
    """
    lam = np.atleast_1d(np.asarray(wave_nm, dtype=np.float64))[:, None]
    du = 0.024
    u = du * (np.arange(50) + 0.5)[None, :]
    k = 2 * np.pi * u
    sigma = inst.spot_rms_arcsec(field_angle)
    radius = inst.fibre_radius_arcsec(field_angle)
    u0 = 0.465 / seeing_fwhm_800 * (lam / 800.0) ** 0.2
    theta_d = 0.001 * lam / inst.diameter_m / (1 - inst.central_obstruction) * ARCSEC_PER_URAD
    psf = np.exp(-0.5 * (k * sigma) ** 2 - (u / u0) ** (5 / 3)) * j0(k * offset_arcsec)
    psf = psf * np.exp(-4 / np.pi * u * theta_d)
    rs = r_eff_arcsec / RATIO_HALF_LIGHT_TO_SCALE
    source = (1 + (k * rs) ** 2) ** -1.5
    ee = (radius * 2 * np.pi * du * j1(2 * np.pi * u * radius) * source * psf).sum(axis=1)
    return ee.reshape(np.shape(wave_nm))
