"""Parameterized molecular bands (TiO, VO, CN) for the synthetic grid.

No offline line list covers these molecules (SCIENCE.md section 6), so each band is an opacity
ratio with a sharp head and an exponential tail towards the red (all three systems here are
red-degraded), modulated by a fixed comb of rotational lines so that the band has the fine
structure that survives at R = 50000. Band strengths follow dissociation equilibrium:
``log tau = log A + D0 (theta - theta_ref) + n_metal [X/H] + g_slope (log g - g_ref)``, with
D0 the dissociation energy (TiO 6.87 eV, VO 6.44 eV, CN 7.76 eV; Huber & Herzberg 1979).
Amplitudes are set so that the TiO 7054 A head is ~10 % deep at 4000 K, ~50 % at 3500 K and
saturated at 3000 K (M0 -> M5 dwarfs, as in the Bochanski et al. 2007 templates), VO appears
below ~3300 K, and CN red bands are a few % deep in K giants and negligible in dwarfs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pfsdenoise.seeding import make_rng


@dataclass(frozen=True)
class Band:
    molecule: str
    head: float  # vacuum [A]
    scale: float  # e-folding length of the tail [A]
    weight: float  # relative strength within the molecule


# Band heads (air values + 2 A for vacuum, rounded): TiO gamma (0,0) 7054, (1,1) 7088,
# (2,2) 7126, gamma (0,1) 7589/7672, epsilon 8206, delta 8432/8442/8452, 8859;
# VO B-X 7372/7393/7453, 7851/7865/7896/7939; CN red A-X 7875, 8127, 8290, 8790 (approximate).
BANDS = (
    Band("TiO", 7056.0, 60.0, 1.0),
    Band("TiO", 7090.0, 50.0, 0.8),
    Band("TiO", 7128.0, 60.0, 0.7),
    Band("TiO", 7591.0, 80.0, 0.6),
    Band("TiO", 7674.0, 70.0, 0.6),
    Band("TiO", 8208.0, 60.0, 0.3),
    Band("TiO", 8434.0, 30.0, 0.5),
    Band("TiO", 8444.0, 30.0, 0.5),
    Band("TiO", 8454.0, 80.0, 0.5),
    Band("TiO", 8861.0, 100.0, 0.4),
    Band("VO", 7374.0, 40.0, 1.0),
    Band("VO", 7395.0, 60.0, 0.8),
    Band("VO", 7455.0, 60.0, 0.6),
    Band("VO", 7853.0, 30.0, 0.7),
    Band("VO", 7867.0, 30.0, 0.7),
    Band("VO", 7898.0, 40.0, 0.7),
    Band("VO", 7941.0, 60.0, 0.6),
    Band("CN", 7877.0, 120.0, 1.0),
    Band("CN", 8129.0, 120.0, 0.9),
    Band("CN", 8292.0, 120.0, 0.7),
    Band("CN", 8792.0, 150.0, 0.6),
)


@dataclass(frozen=True)
class Molecule:
    log_amplitude: float  # log tau of a weight-1 band at theta_ref, solar, log g = g_ref
    d0: float  # dissociation energy [eV]
    theta_ref: float  # 5040 / T_ref
    n_metal: float  # d log tau / d [M/H]
    n_alpha: float  # d log tau / d [alpha/M]
    g_slope: float  # d log tau / d log g
    g_ref: float
    t_peak_width: float | None = None  # [K] Gaussian in Teff around T_ref (CN: peaks in K giants)


MOLECULES = {
    # TiO: tau = 0.1 at 4000 K for a dwarf; both Ti and O are alpha elements; mild pressure
    # dependence (stronger in dwarfs at fixed Teff is partly offset by continuum opacity).
    "TiO": Molecule(-1.0, 6.87, 5040.0 / 4000.0, 1.5, 2.0, 0.1, 4.5),
    # VO: tau = 0.1 at 3300 K.
    "VO": Molecule(-1.0, 6.44, 5040.0 / 3300.0, 1.5, 0.0, 0.1, 4.5),
    # CN: tau = 0.04 for a 4500 K giant (log g 2), weaker at high gravity, fading above ~5000 K;
    # ~ Z^1 (C and N each ~ Z, the H- continuum ~ Z^(1/2), CO formation takes up C at high Z).
    "CN": Molecule(-1.4, 7.76, 5040.0 / 4500.0, 1.0, 0.0, -0.35, 2.0, 900.0),
}
# Rotational-line comb: lines per A in a band, their Gaussian width [A], the comb's share of
# the band opacity (the rest is a smooth pseudo-continuum of unresolved lines).
COMB_DENSITY = 1.5
COMB_WIDTH = 0.12
COMB_SHARE = 0.6


def band_strength(name: str, teff: float, logg: float, mh: float, alpha: float) -> float:
    """Opacity ratio of a weight-1 band of molecule ``name`` at its head."""
    m = MOLECULES[name]
    theta = 5040.0 / teff
    if m.t_peak_width is not None:  # no growth below T_ref: C goes into CO, N into N2
        theta = min(theta, m.theta_ref)
    log_tau = (
        m.log_amplitude
        + m.d0 * (theta - m.theta_ref)
        + m.n_metal * mh
        + m.n_alpha * alpha
        + m.g_slope * (logg - m.g_ref)
    )
    tau = 10.0 ** min(log_tau, 3.0)
    if m.t_peak_width is not None:
        t_ref = 5040.0 / m.theta_ref
        tau *= np.exp(-(((teff - t_ref) / m.t_peak_width) ** 2))
    return tau


@lru_cache(maxsize=64)
def _comb_cached(start: float, log_step: float, n: int, band_index: int) -> np.ndarray:
    wave = start * np.exp(log_step * np.arange(n))
    comb = _comb(wave, band_index, BANDS[band_index])
    comb.flags.writeable = False
    return comb


def _comb(wave: np.ndarray, band_index: int, band: Band) -> np.ndarray:
    """Fixed pseudo-random rotational lines (same for every star) over the band's tail."""
    rng = make_rng(0, "molecular-comb", band_index)
    length = 6 * band.scale
    centres = band.head + np.sort(rng.uniform(0, length, int(COMB_DENSITY * length)))
    strengths = rng.exponential(1.0, len(centres))
    comb = np.zeros_like(wave)
    log_step = np.log(wave[1] / wave[0])
    half = int(np.ceil(4 * COMB_WIDTH / (band.head * log_step)))
    for c, s in zip(centres, strengths, strict=True):
        i = round(np.log(c / wave[0]) / log_step)
        lo, hi = max(i - half, 0), min(i + half + 1, len(wave))
        if lo < hi:
            comb[lo:hi] += s * np.exp(-0.5 * ((wave[lo:hi] - c) / COMB_WIDTH) ** 2)
    # normalize to unit mean over the band so that the amplitude keeps its meaning
    in_band = (wave > band.head) & (wave < band.head + length)
    mean = comb[in_band].mean() if in_band.any() else 1.0
    return comb / mean if mean > 0 else comb


def molecular_opacity(
    wave: np.ndarray, teff: float, logg: float, mh: float, alpha: float
) -> np.ndarray:
    """Total opacity ratio of the molecular bands at vacuum wavelengths ``wave`` [A]."""
    eta = np.zeros_like(wave, dtype=np.float64)
    for k, band in enumerate(BANDS):
        tau = band_strength(band.molecule, teff, logg, mh, alpha) * band.weight
        if tau < 1e-4:
            continue
        tail = np.where(wave >= band.head, np.exp(-(wave - band.head) / band.scale), 0.0)
        comb = _comb_cached(float(wave[0]), float(np.log(wave[1] / wave[0])), len(wave), k)
        eta += tau * tail * ((1 - COMB_SHARE) + COMB_SHARE * comb)
    return eta
