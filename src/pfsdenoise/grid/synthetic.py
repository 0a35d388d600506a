"""Embedded synthetic model of late-type stellar spectra (surface flux, vacuum wavelengths).

A one-layer (Milne-Eddington-like) model, physically motivated and calibrated on the Kurucz Sun:

* continuum: surface flux pi B_lambda(T_c) with a colour temperature T_c = ``color_ratio`` Teff;
* atomic lines (Gaia-ESO list): line-to-continuum opacity ratio at line centre
  ``eta0 = K gf eps (N_stage / N_el) / U(T) 10^(-theta chi) (lambda / 8000 A) (c / v_D) / kappa_c``
  in the layer of :mod:`pfsdenoise.grid.atmosphere` (T = ``t_ratio`` Teff; electron pressure,
  H density and the H- continuous opacity kappa_c from hydrostatic and ionization equilibrium),
  with Saha ionization and the share of each element left free by the molecular equilibrium
  (:mod:`pfsdenoise.grid.chemistry`); Voigt profiles (thermal + microturbulent Doppler width,
  radiative + van der Waals damping, ABO cross-sections where the list gives them) for strong
  lines, Gaussians summed by :mod:`pfsdenoise.grid.profiles` for weak ones;
* hydrogen Paschen lines with Stark wings: :mod:`pfsdenoise.grid.hydrogen`;
* molecular bands (TiO, VO, CN, CaH) from spectroscopic constants:
  :mod:`pfsdenoise.grid.molecules`;
* all opacity ratios add up to eta(lambda), and the residual flux is
  ``1 - r_max eta / (1 + eta)``: linear for weak lines, saturating cores, damping wings (the
  Milne-Eddington curve of growth).

The numbers are named in :class:`ModelParameters`, defaults from the fit to the Sun
(``tests/grid/test_calibration.py`` checks it and the CaT and TiO5 relations) and from textbook scalings (Gray, *The
Observation and Analysis of Stellar Photospheres*, 3rd ed., ch. 8-11 and 16).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Any

import numpy as np
from scipy.special import gamma as gamma_fn
from scipy.special import wofz

from pfsdenoise.constants import C_CGS, C_KMS, H_CGS, K_CGS
from pfsdenoise.grid.atmosphere import Layer, solve_layer
from pfsdenoise.grid.chemistry import load_species, partition, saha_ratio
from pfsdenoise.grid.hydrogen import paschen_lines, stark_damping
from pfsdenoise.grid.linedata import LineData, load_lines
from pfsdenoise.grid.molecules import molecular_opacity
from pfsdenoise.grid.profiles import gaussian_sum

K_EV = 8.617333262e-5
AMU = 1.66053907e-24
BOHR_CM = 0.529177e-8


@dataclass(frozen=True)
class ModelParameters:
    """Free numbers of the synthetic model (config key ``grid.synthetic.model``)."""

    # Global line-strength scale (log10 of K in eta0), largest line depth (Milne-Eddington
    # r_max = (2 beta/3) / (1 + 2 beta/3)), solar log Pe and colour ratio below: Nelder-Mead fit
    # of the model after the MR LSF to the Kurucz Sun over 710-885 nm (rms 1.0 %, r = 0.997).
    log_line_scale: float = 12.99
    r_max: float = 0.72
    # Scale the Milne-Eddington source-function gradient beta with hc / (lambda k Teff) (grey
    # atmosphere, Wien side of the Planck function; Gray 2005 ch. 13), about r_max at 8000 A in
    # the Sun; False keeps r_max for every star and wavelength.
    r_max_scales: bool = True
    # Boundary temperature / Teff of the outer layers where the molecular bands form: their
    # saturated depth is 1 - B(T0) / B(T_c). ~0.6 in the MARCS models of M stars (Gustafsson
    # et al. 2008, A&A 486, 951: T(tau -> 0) ~ 0.55-0.65 Teff, non-grey molecular cooling);
    # the grey value would be 0.84.
    t0_ratio: float = 0.6
    # Formation temperature / Teff (Eddington T(tau) at tau ~ 0.2: (3/4 (0.2 + 2/3))^0.25).
    t_ratio: float = 0.87
    # Colour temperature of the red continuum / Teff (fit of the Kurucz solar continuum slope).
    color_ratio: float = 1.056
    # log10 electron pressure [dyn cm-2] at line formation in the Sun; it fixes the optical depth
    # of the layer, whose pressures in other stars follow from hydrostatic and ionization
    # equilibrium (pfsdenoise.grid.atmosphere).
    log_pe_sun: float = 1.19
    # log10 hydrogen number density [cm-3] for van der Waals broadening in the Sun (~1e17 at
    # tau = 1); other stars scale it with their layer's density of H nuclei.
    log_nh_sun: float = 16.8
    # Default log gamma6 at 10^4 K per H atom [cm3 s-1] for lines with neither ABO data nor a
    # listed value (typical of Unsoeld estimates for Fe I).
    log_gamma6_default: float = -7.6
    # Microturbulence [km/s]: 1 km/s for dwarfs, rising towards giants (typical of MARCS/ATLAS
    # grids: 1-2 km/s).
    vturb_dwarf: float = 1.0
    vturb_per_dex: float = 0.25
    # Line window: evaluate a line where its opacity ratio exceeds this fraction (and at least
    # ``min_doppler_widths`` Doppler widths around the centre).
    eta_floor: float = 1e-4
    min_doppler_widths: float = 6.0
    max_half_width: float = 80.0  # [A]
    # Lines with a centre opacity ratio below this get a pure Gaussian profile, summed by
    # pfsdenoise.grid.profiles (their Lorentz wings stay below eta_floor beyond ~3 Doppler
    # widths for damping a <= 0.3); stronger lines get Voigt profiles in their own windows.
    weak_eta: float = 0.02
    # log10 of the molecular line scale relative to log_line_scale: fit of the TiO5 index
    # (Reid, Hawley & Gizis 1995) of the solar-metallicity dwarfs to the spectral type-TiO5
    # relation and the Pecaut & Mamajek (2013) spectral type-Teff scale (tools/calibrate_grid.py).
    log_molecule_scale: float = -0.7

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> ModelParameters:
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"grid.synthetic.model: unknown keys {sorted(unknown)}")
        return cls(**cfg)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def planck_surface_flux(wave: np.ndarray, temperature: float) -> np.ndarray:
    """pi B_lambda(T) [erg s-1 cm-2 A-1] at vacuum wavelengths [A]."""
    lam = wave * 1e-8
    x = H_CGS * C_CGS / (lam * K_CGS * temperature)
    b = 2 * H_CGS * C_CGS**2 / lam**5 / np.expm1(x)
    return np.pi * b * 1e-8


@cache
def solar_layer(p: ModelParameters) -> Layer:
    return solve_layer(5777.0, 4.44, 0.0, 0.0, p.t_ratio, p.log_pe_sun)


def largest_depth(p: ModelParameters, wave: np.ndarray, teff: float) -> np.ndarray:
    """Milne-Eddington depth of a saturated line, r = (2 beta/3) / (1 + 2 beta/3).

    The source function S = B(1 + beta tau) of a grey atmosphere has beta ~ d ln B / d ln T
    ~ hc / (lambda k T) (Wien side), so beta scales as 1 / (lambda Teff) from the Sun's value
    (``r_max`` at 8000 A): saturated lines are deeper in cool stars and in the blue.
    """
    if not p.r_max_scales:
        return np.full_like(wave, p.r_max)
    beta_sun = 1.5 * p.r_max / (1.0 - p.r_max)
    two_beta_3 = (2.0 / 3.0) * beta_sun * (5777.0 / teff) * (8000.0 / wave)
    return two_beta_3 / (1.0 + two_beta_3)


def microturbulence(p: ModelParameters, logg: float) -> float:
    return max(p.vturb_dwarf + p.vturb_per_dex * (4.44 - logg), 0.5)


def line_opacity_ratios(
    lines: LineData,
    p: ModelParameters,
    layer: Layer,
    logg: float,
    mh: float,
    alpha: float,
    free: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: centre opacity ratio eta0, Doppler width [A] and Voigt damping a.

    ``free`` (per line) is the share of the element not locked in molecules (default 1).
    """
    temp, log_pe = layer.temperature, layer.log_pe
    theta = 5040.0 / temp
    sun = solar_layer(p)
    u1 = partition(lines.pf_neutral, temp)
    u2 = partition(lines.pf_ion, temp)
    frac_ion = 1.0 / (1.0 + 1.0 / saha_ratio(u1, u2, lines.ip_neutral, temp, log_pe))
    frac, u = np.where(lines.ion == 1, 1 - frac_ion, frac_ion), np.where(lines.ion == 1, u1, u2)
    if free is not None:
        frac = frac * free
    metal = np.where(lines.z == 1, 0.0, mh + np.where(lines.is_alpha, alpha, 0.0))
    v_dopp = np.sqrt(2 * K_CGS * temp / (lines.mass * AMU) / 1e10 + microturbulence(p, logg) ** 2)
    dl_dopp = lines.wave * v_dopp / C_KMS
    log_eta0 = (
        p.log_line_scale
        + lines.loggf
        + lines.abund_sun
        + metal
        - 12.0
        + np.log10(np.maximum(frac, 1e-300) / u)
        - theta * lines.chi_low
        + np.log10(lines.wave / 8000.0)
        - np.log10(v_dopp)
        - (layer.log_kappa - sun.log_kappa)
    )
    # Damping: radiative + van der Waals (ABO sigma.alpha where given, else listed log gamma6
    # at 10^4 K, else a default), gamma6 ~ N_H T^0.3 (or the ABO velocity dependence).
    log_nh = p.log_nh_sun + np.log10(layer.n_h / sun.n_h)
    gamma6 = 10.0 ** np.where(lines.fdamp < 0, lines.fdamp, p.log_gamma6_default)
    gamma6 = gamma6 * (temp / 1e4) ** 0.3
    abo = lines.fdamp > 1.0
    if abo.any():
        sigma = np.floor(lines.fdamp[abo]) * BOHR_CM**2
        alph = lines.fdamp[abo] - np.floor(lines.fdamp[abo])
        mu = AMU / (1.0 / 1.008 + 1.0 / lines.mass[abo])
        vbar = np.sqrt(8 * K_CGS * temp / (np.pi * mu))
        v0 = 1e6
        gamma6[abo] = (
            2
            * (4 / np.pi) ** (alph / 2)
            * gamma_fn((4 - alph) / 2)
            * v0
            * sigma
            * (vbar / v0) ** (1 - alph)
        )
    gamma = lines.gamma_rad + gamma6 * 10.0**log_nh
    damping = gamma * (lines.wave * 1e-8) ** 2 / (4 * np.pi * C_CGS) / (dl_dopp * 1e-8)
    return 10.0**log_eta0, dl_dopp, damping


def atomic_opacity(
    wave: np.ndarray, lines: LineData, p: ModelParameters, eta0, dl_dopp, damping
) -> np.ndarray:
    """Sum of line opacity ratios: weak lines as Gaussians (:func:`gaussian_sum`), the others
    as Voigt profiles, each within its own window (vectorized in groups of equal window size)."""
    log_step = np.log(wave[1] / wave[0])
    eta = np.zeros_like(wave)
    # half width [A] where the Lorentz wing eta0 a / (sqrt(pi) v^2) falls to eta_floor
    weak = eta0 <= p.weak_eta
    v_dopp = dl_dopp / lines.wave * C_KMS
    eta += gaussian_sum(
        wave, lines.wave[weak], eta0[weak] * np.sqrt(np.pi) * dl_dopp[weak], v_dopp[weak]
    )
    wing = dl_dopp * np.sqrt(eta0 * damping / (np.sqrt(np.pi) * p.eta_floor))
    half = np.clip(np.maximum(wing, p.min_doppler_widths * dl_dopp), 0, p.max_half_width)
    strong = ~weak
    centre = np.log(lines.wave / wave[0]) / log_step
    half_pix = np.ceil(half / lines.wave / log_step).astype(int)
    bins = 2 ** np.ceil(np.log2(np.maximum(half_pix, 1))).astype(int)
    for size in np.unique(bins[strong]):
        sel = np.flatnonzero(strong & (bins == size))
        offsets = np.arange(-size, size + 1)
        idx = np.round(centre[sel]).astype(int)[:, None] + offsets[None, :]
        inside = (idx >= 0) & (idx < len(wave))
        idx_c = np.clip(idx, 0, len(wave) - 1)
        v = (wave[idx_c] - lines.wave[sel, None]) / dl_dopp[sel, None]
        prof = wofz(v + 1j * damping[sel, None]).real * eta0[sel, None]
        eta += np.bincount(idx_c[inside], prof[inside], minlength=len(wave))
    return eta


def synthetic_spectrum(
    wave: np.ndarray,
    teff: float,
    logg: float,
    mh: float,
    alpha: float,
    params: ModelParameters | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Surface flux and continuum [erg s-1 cm-2 A-1] of one star on a log-uniform vacuum grid."""
    p = params or ModelParameters()
    margin = p.max_half_width
    lines = load_lines(float(wave[0]) - margin, float(wave[-1]) + margin)
    species = load_species()
    layer = solve_layer(teff, logg, mh, alpha, p.t_ratio, p.log_pe_sun)
    free = dict(zip(species.z, layer.chem.free_fraction(), strict=True))
    eta0, dl_dopp, damping = line_opacity_ratios(
        lines, p, layer, logg, mh, alpha, free=np.array([free[z] for z in lines.z])
    )
    eta = atomic_opacity(wave, lines, p, eta0, dl_dopp, damping)
    h_lines = paschen_lines(float(wave[0]) - margin, float(wave[-1]) + margin)
    if len(h_lines.wave):
        h_eta0, h_dopp, _ = line_opacity_ratios(h_lines, p, layer, logg, mh, 0.0)
        h_damping = stark_damping(h_lines, h_dopp, layer.log_pe, layer.temperature)
        eta += atomic_opacity(wave, h_lines, p, h_eta0, h_dopp, h_damping)
    eta_mol = molecular_opacity(
        wave,
        layer.temperature,
        microturbulence(p, logg),
        p.log_line_scale + p.log_molecule_scale - (layer.log_kappa - solar_layer(p).log_kappa),
        layer.chem,
        species,
    )
    continuum = planck_surface_flux(wave, p.color_ratio * teff)
    r_atom = largest_depth(p, wave, teff)
    # molecular lines form in the outer layers: their saturated depth is set by the boundary
    # temperature (residual flux B(T0) / B(T_c)); a blend saturates at the opacity-weighted depth
    r_mol = 1.0 - planck_surface_flux(wave, p.t0_ratio * teff) / continuum
    r_mol = np.maximum(r_mol, r_atom)
    total = eta + eta_mol
    depth = (r_atom * eta + r_mol * eta_mol) / np.maximum(total, 1e-300)
    flux = continuum * (1.0 - depth * total / (1.0 + total))
    return flux, continuum
