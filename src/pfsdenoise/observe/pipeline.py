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
from pfsdenoise.observe.kernels import etc_sigma_and_mask
from pfsdenoise.observe.lsf import KernelTable, grid_pixel_matrix
from pfsdenoise.observe.noise_table import FLUX_UNIT, Conditions, NoiseTable, NoiseTerms
from pfsdenoise.observe.star import (
    MagnitudeScaler,
    doppler_shift,
    extinction_curve,
)
from pfsdenoise.spectrum import draw_distortions, masked_median, noisy_realization

SNR_DEFINITION = "median over unmasked pixels of flux_true / sigma (per pixel, all exposures)"
NOISELESS_TILE = 8
"""Spectra per tile of the Doppler shift and filter sums in :meth:`Observer.noiseless`: 8
shifted models at R = 50000 (1 MB) stay in the core's cache between the two (speed only)."""


@dataclass
class Observation:
    """Observed spectra of a batch, in units of 1e-17 erg s⁻¹ cm⁻² Å⁻¹ divided by ``norm``."""

    flux: np.ndarray  # noisy, float32 (n, n_pix)
    flux_true: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray  # bool, True = unusable
    snr: np.ndarray  # (n,)
    norm: np.ndarray  # (n,) [1e-17 erg s⁻¹ cm⁻² Å⁻¹]

    @classmethod
    def empty(cls, n: int, n_pix: int) -> Observation:
        """Uninitialized arrays for ``n`` spectra, to be filled batch by batch (:meth:`rows`)."""
        return cls(
            *(np.empty((n, n_pix), dtype=np.float32) for _ in range(3)),
            mask=np.empty((n, n_pix), dtype=bool),
            snr=np.empty(n, dtype=np.float32),
            norm=np.empty(n, dtype=np.float32),
        )

    def rows(self, rows: slice) -> Observation:
        """The same observation restricted to ``rows``: views, so writing them fills this one."""
        return Observation(**{name: getattr(self, name)[rows] for name in self.__annotations__})


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
        self._work: np.ndarray | None = None
        self.kernel = kernel
        self.matrix = grid_pixel_matrix(self.inst, kernel, self.wave_aa, self.log_step)
        law, r_v = observe["extinction_law"], float(observe["r_v"])
        self.pix_ext = extinction_curve(self.pix_aa, law, r_v)
        # 10^(−0.4 E(B−V) A_λ) = exp(E(B−V) · (−0.4 ln 10 A_λ))
        self.pix_ext_ln = (-0.4 * np.log(10.0) * self.pix_ext).astype(np.float32)
        self.mags = MagnitudeScaler(
            self.wave_aa, observe["filter"], law, r_v, float(observe["filter_max_outside"])
        )
        # The LSF ⊗ pixel matrix in blocks of 16 pixels (the fastest of 8-48 on one core); the
        # filter bins are summed tile by tile (MagnitudeScaler.bin_integrals, in noiseless).
        self.pixels = BandedMatrix.from_sparse(self.matrix, 16)
        lo, hi = observe["normalization"]["wave_min"], observe["normalization"]["wave_max"]
        self.norm_window = (self.pix_aa >= lo) & (self.pix_aa <= hi)
        if not self.norm_window.any():
            raise ValueError(f"observe.normalization window {lo}-{hi} Å holds no MR pixel")

    def _scratch(self, shape: tuple[int, int]) -> np.ndarray:
        """A float32 (n, n_wave) work array for the shifted models, kept between batches: a
        fresh one per batch (32 MB for 256 spectra) would cost the page faults of mapping it
        each time. Not shared between threads (an Observer serves one batch at a time)."""
        if self._work is None or self._work.shape[1] != shape[1] or len(self._work) < shape[0]:
            self._work = np.empty(shape, dtype=np.float32)
        return self._work[: shape[0]]

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
        model = np.asarray(model, dtype=np.float32)
        rv = np.asarray(rv)
        self.check_rv(rv)
        shifted = self._scratch(model.shape)
        bins = np.empty((len(model), self.mags.binning.shape[0]))
        # tile by tile, so that the shifted rows are still in the cache for the filter sums
        for start in range(0, len(model), NOISELESS_TILE):
            tile = slice(start, start + NOISELESS_TILE)
            # a row sum is finite only when every value is (flux densities are far below
            # overflow): one read instead of a boolean array
            finite = np.isfinite(model[tile].sum(axis=1))
            if not finite.all():
                row = start + int(np.flatnonzero(~finite)[0])
                raise ValueError(f"model flux of spectrum {row} in the batch has non-finite values")
            doppler_shift(model[tile], rv[tile], self.log_step, out=shifted[tile])
            bins[tile] = self.mags.bin_integrals(shifted[tile])
        pix = self.pixels.apply(shifted)
        maggies = self.mags.maggies_of_bins(bins, ebv)
        if np.any(maggies <= 0):
            raise ValueError(f"model spectrum has no flux in filter {self.mags.filter_name}")
        scale = 10 ** (-0.4 * np.asarray(mag, dtype=np.float64)) / maggies / FLUX_UNIT
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
        self,
        flux_true: np.ndarray,
        params: dict[str, np.ndarray],
        rng: np.random.Generator,
        out: Observation | None = None,
    ) -> Observation:
        """The noisy observation of noiseless spectra (:meth:`noiseless`): ETC σ, one noise
        draw, the optional calibration distortion, mask, S/N and normalization.

        Written into ``out`` when given (e.g. rows of a chunk's arrays, :meth:`Observation.rows`),
        whose ``flux_true`` may be ``flux_true`` itself: it is then normalized in place.
        """
        out = Observation.empty(*np.shape(flux_true)) if out is None else out
        flux_true = np.asarray(flux_true, dtype=np.float32)
        self.sigma_and_mask(flux_true, self.noise_terms(params), out.sigma, out.mask)
        noisy_realization(flux_true, out.sigma, rng, out=out.flux)
        calib = self.cfg["calibration"]
        if calib["apply"]:
            curves = draw_distortions(
                self.pix_aa, len(flux_true), rng, float(calib["amplitude"]), float(calib["scale"])
            )
            out.flux *= curves
            out.sigma *= curves
        self._normalize(flux_true, out)
        return out

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
        self,
        flux_true: np.ndarray,
        terms: NoiseTerms,
        sigma: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """ETC σ of noiseless spectra (0 where undefined) and the mask: σ undefined, no
        counts, or background variance above ``mask.sky_variance_ratio`` × its median.
        Written into ``sigma`` (float32) and ``mask`` (bool) when given."""
        flux_true = np.asarray(flux_true, dtype=np.float32)
        conv = self.table.counts_per_flux(terms)
        background = self.table.background_variance(terms)
        median_bg = masked_median(background, np.ones(background.shape, dtype=bool))
        sigma = np.empty(flux_true.shape, dtype=np.float32) if sigma is None else sigma
        mask = np.empty(flux_true.shape, dtype=bool) if mask is None else mask
        ratio = np.float32(self.cfg["mask"]["sky_variance_ratio"])
        n_exp = terms.n_exp.astype(np.float32)
        etc_sigma_and_mask(flux_true, conv, background, n_exp, median_bg, ratio, sigma, mask)
        return sigma, mask

    def _normalize(self, flux_true: np.ndarray, out: Observation) -> None:
        """S/N and median normalization of ``out`` (noisy flux, σ and mask filled), and
        ``out.flux_true`` = ``flux_true`` / norm."""
        use = self.norm_window & ~out.mask
        norm = masked_median(out.flux, use)
        if np.any(~(norm > 0)):
            row = int(np.flatnonzero(~(norm > 0))[0])
            raise ValueError(
                f"spectrum {row}: median noisy flux in the normalization window is {norm[row]}; "
                "the spectrum is too faint for median normalization"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            out.snr[:] = masked_median(flux_true / out.sigma, ~out.mask)
        out.norm[:] = norm
        k = norm[:, None]
        out.flux /= k
        out.sigma /= k
        np.divide(flux_true, k, out=out.flux_true)
