"""The observe step: high-resolution model spectra → noiseless and noisy MR-arm spectra.

Doppler shift (on the model grid) → filter magnitude (with extinction) → one sparse
"LSF ⊗ pixel" matrix onto the 4096 pixels → extinction on pixels → flux scale → ETC variance
→ noisy realization → optional calibration distortion → mask, S/N and median normalization.

The noiseless part (:meth:`Observer.noiseless`) uses no random numbers, so a chunk can compute
it in any order (:func:`observe_chunk` groups spectra by grid cell, which makes the
interpolation a few dense products); the noisy part (:meth:`Observer.realize`) then draws in
the order of the spectra. Arrays are float32 from the Doppler shift on; the sparse matrices are
applied as dense blocks (:mod:`.banded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pfsdenoise.constants import C_KMS
from pfsdenoise.observe.banded import BandedMatrix
from pfsdenoise.observe.instrument import Instrument
from pfsdenoise.observe.lsf import KernelTable, grid_pixel_matrix
from pfsdenoise.observe.noise_table import FLUX_UNIT, Conditions, NoiseTable, NoiseTerms
from pfsdenoise.observe.star import (
    MagnitudeScaler,
    doppler_shift,
    extinction_curve,
)
from pfsdenoise.spectrum import draw_distortions, masked_median, noisy_realization

SNR_DEFINITION = "median over unmasked pixels of flux_true / sigma (per pixel, all exposures)"


@dataclass
class Observation:
    """Observed spectra of a batch, in units of 1e-17 erg s⁻¹ cm⁻² Å⁻¹ divided by ``norm``."""

    flux: np.ndarray  # noisy, float32 (n, n_pix)
    flux_true: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray  # bool, True = unusable
    snr: np.ndarray  # (n,)
    norm: np.ndarray  # (n,) [1e-17 erg s⁻¹ cm⁻² Å⁻¹]


def conditions(params: Mapping[str, np.ndarray]) -> Conditions:
    """The observing conditions among a batch's parameters."""
    return Conditions(**{k: np.asarray(params[k]) for k in Conditions.__annotations__})


class Observer:
    """Precomputed operators for observing spectra from one model grid with one noise table."""

    def __init__(self, wave_aa: np.ndarray, log_step: float, noise_table: str, observe: dict):
        self.table = NoiseTable(noise_table)
        self.inst = Instrument.from_config(self.table.meta["noise_config"])
        self.cfg = observe
        self.wave_aa = np.asarray(wave_aa, dtype=np.float64)
        self.log_step = float(log_step)
        self.pix_aa = self.inst.pixel_centres_nm() * 10
        kernel = KernelTable(self.inst, int(observe["lsf_half_width_pix"]))
        margin = (kernel.half_width + 1) * self.inst.dl_nm * 10
        need = (self.inst.wave_min_nm * 10 - margin, self.inst.wave_max_nm * 10 + margin)
        if self.wave_aa[0] > need[0] or self.wave_aa[-1] < need[1]:
            raise ValueError(
                f"model grid covers {self.wave_aa[0]:.1f}-{self.wave_aa[-1]:.1f} Å but the MR "
                f"arm with its LSF window needs {need[0]:.1f}-{need[1]:.1f} Å"
            )
        self._need = need
        self.kernel = kernel
        self.matrix = grid_pixel_matrix(self.inst, kernel, self.wave_aa, self.log_step)
        law, r_v = observe["extinction_law"], float(observe["r_v"])
        self.pix_ext = extinction_curve(self.pix_aa, law, r_v)
        # 10^(−0.4 E(B−V) A_λ) = exp(E(B−V) · (−0.4 ln 10 A_λ))
        self.pix_ext_ln = (-0.4 * np.log(10.0) * self.pix_ext).astype(np.float32)
        self.mags = MagnitudeScaler(
            self.wave_aa, observe["filter"], law, r_v, float(observe["filter_max_outside"])
        )
        # Pixels and filter bins from one pass over the shifted model: blocks of 16 pixels
        # (the fastest of 8-128 on one core) and 8 bins, in wavelength order.
        self.optics = BandedMatrix.stack([(self.matrix, 16), (self.mags.binning, 8)])
        lo, hi = observe["normalization"]["wave_min"], observe["normalization"]["wave_max"]
        self.norm_window = (self.pix_aa >= lo) & (self.pix_aa <= hi)
        if not self.norm_window.any():
            raise ValueError(f"observe.normalization window {lo}-{hi} Å holds no MR pixel")

    def check_rv(self, rv_kms: np.ndarray) -> None:
        """Raise if a Doppler shift moves the needed wavelength span off the grid."""
        z = np.asarray(rv_kms, dtype=np.float64) / C_KMS
        lo = self._need[0] / (1 + z)
        hi = self._need[1] / (1 + z)
        bad = ~np.isfinite(z) | (lo < self.wave_aa[0]) | (hi > self.wave_aa[-1])
        if bad.any():
            raise ValueError(
                f"rv = {np.asarray(rv_kms)[bad][0]} km/s shifts the MR arm off the grid "
                f"({self.wave_aa[0]:.0f}-{self.wave_aa[-1]:.0f} Å)"
            )

    def noiseless(self, model: np.ndarray, rv, ebv, mag) -> np.ndarray:
        """Noiseless MR spectra above the atmosphere [1e-17 erg s⁻¹ cm⁻² Å⁻¹], (n, n_pix)
        float32."""
        model = np.asarray(model)
        # a row sum is finite only when every value is (flux densities are far below overflow):
        # one read of the batch instead of a boolean array
        finite = np.isfinite(model.sum(axis=1))
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"model flux of spectrum {row} in the batch has non-finite values")
        self.check_rv(rv)
        shifted = doppler_shift(model.astype(np.float32, copy=False), rv, self.log_step)
        both = self.optics.apply(shifted)
        n_pix = self.inst.n_pix
        maggies = self.mags.maggies_of_bins(both[:, n_pix:], ebv)
        if np.any(maggies <= 0):
            raise ValueError(f"model spectrum has no flux in filter {self.mags.filter_name}")
        scale = 10 ** (-0.4 * np.asarray(mag, dtype=np.float64)) / maggies / FLUX_UNIT
        pix = both[:, :n_pix]
        ext = np.multiply.outer(np.asarray(ebv, dtype=np.float32), self.pix_ext_ln)
        pix *= np.exp(ext, out=ext)
        pix *= scale.astype(np.float32)[:, None]
        return pix

    def observe(
        self, model: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> Observation:
        """Observe a batch; ``params`` holds rv, ebv, mag and the Conditions fields."""
        flux_true = self.noiseless(model, params["rv"], params["ebv"], params["mag"])
        return self.realize(flux_true, params, rng)

    def realize(
        self, flux_true: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> Observation:
        """The noisy observation of noiseless spectra (:meth:`noiseless`): ETC σ, one noise
        draw, the optional calibration distortion, mask, S/N and normalization."""
        sigma, mask = self.sigma_and_mask(flux_true, self.noise_terms(params))
        flux = noisy_realization(flux_true, sigma, rng)
        calib = self.cfg["calibration"]
        if calib["apply"]:
            curves = draw_distortions(
                self.pix_aa, len(flux), rng, float(calib["amplitude"]), float(calib["scale"])
            )
            flux *= curves
            sigma = sigma * curves
        return self._finish(flux, flux_true, sigma, mask)

    def noise_terms(self, params: Mapping[str, np.ndarray]) -> NoiseTerms:
        """The noise table's terms for a batch's conditions (ConditionError outside the table;
        ValueError for an exposure time ≤ 0 or fewer than one exposure)."""
        exp_time = np.asarray(params["exp_time"], dtype=np.float64)
        if np.any(~(exp_time > 0)) or np.any(~(np.asarray(params["n_exp"]) >= 1)):
            raise ValueError(
                f"exp_time must be > 0 s and n_exp >= 1, got exp_time={exp_time.min()}, "
                f"n_exp={np.min(params['n_exp'])}"
            )
        return self.table.terms(conditions(params))

    def sigma_and_mask(
        self, flux_true: np.ndarray, terms: NoiseTerms
    ) -> tuple[np.ndarray, np.ndarray]:
        """ETC σ of noiseless spectra (0 where undefined) and the mask: σ undefined, no
        counts, or background variance above ``mask.sky_variance_ratio`` × its median."""
        conv = self.table.counts_per_flux(terms)
        background = self.table.background_variance(terms)
        n_exp = terms.n_exp.astype(np.float32)[:, None]
        # σ = √(N (counts + background)) / (N conv), in place
        sigma = flux_true * conv
        sigma += background
        sigma *= n_exp
        with np.errstate(divide="ignore", invalid="ignore"):
            np.sqrt(sigma, out=sigma)
            sigma /= n_exp * conv
        median_bg = masked_median(background, np.ones(background.shape, dtype=bool))
        background /= median_bg[:, None]  # the background variance ratio to its median
        mask = ~np.isfinite(sigma)
        sigma[mask] = 0.0
        mask |= conv <= 0
        mask |= background > float(self.cfg["mask"]["sky_variance_ratio"])
        return sigma, mask

    def _finish(self, flux, flux_true, sigma, mask) -> Observation:
        use = self.norm_window & ~mask
        norm = masked_median(flux, use)
        if np.any(~(norm > 0)):
            row = int(np.flatnonzero(~(norm > 0))[0])
            raise ValueError(
                f"spectrum {row}: median noisy flux in the normalization window is {norm[row]}; "
                "the spectrum is too faint for median normalization"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = masked_median(flux_true / sigma, ~mask)
        k = norm[:, None]
        return Observation(
            flux=(flux / k).astype(np.float32, copy=False),
            flux_true=(flux_true / k).astype(np.float32, copy=False),
            sigma=(sigma / k).astype(np.float32, copy=False),
            mask=mask,
            snr=snr,
            norm=norm,
        )
