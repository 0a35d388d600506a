"""The star before the telescope: Doppler shift, interstellar extinction, AB magnitude scaling.

All operate on a batch of high-resolution model spectra sampled on a log-uniform vacuum grid.
"""

from __future__ import annotations

import extinction
import numpy as np
import scipy.sparse as sp
import speclite.filters

from pfsdenoise.constants import C_ANGSTROM_S, C_KMS
from pfsdenoise.observe.kernels import doppler_shift_rows

AB_ZERO_FNU = 3.631e-20  # erg s⁻¹ cm⁻² Hz⁻¹ (AB magnitude 0)
_LAWS = {"ccm89": extinction.ccm89, "odonnell94": extinction.odonnell94}


def doppler_samples(rv_kms: np.ndarray, log_step: float, n_samples: int) -> np.ndarray:
    """Doppler shift in samples of a log-uniform grid, ln(1 + rv/c) / Δln λ, float64.

    Raises if a shift leaves fewer than two samples of a grid of ``n_samples``.
    """
    shifts = np.log1p(np.asarray(rv_kms, dtype=np.float64) / C_KMS) / log_step
    if np.any(~(np.abs(shifts) <= n_samples - 2)):
        raise ValueError(f"Doppler shift of {np.max(np.abs(shifts)):.0f} samples exceeds the grid")
    return shifts


def doppler_shift(
    flux: np.ndarray, rv_kms: np.ndarray, log_step: float, out: np.ndarray | None = None
) -> np.ndarray:
    """Shift spectra on a log-uniform grid by ``rv_kms`` (λ_obs = λ (1 + rv/c)).

    On a log-uniform grid a Doppler factor is a shift by ln(1+z)/Δlnλ samples; the fractional
    part is applied by linear interpolation (the LSF is ≥ 20 grid samples wide, so the
    interpolation smoothing is negligible after pixelization). Edge samples are repeated.
    The result has the dtype of ``flux``; ``out`` (same shape and dtype, not sharing memory
    with ``flux``) is written and returned when given, so batches can reuse one buffer.
    """
    flux = np.asarray(flux)
    n_spec, n = flux.shape
    if out is None:
        out = np.empty((n_spec, n), dtype=flux.dtype)
    elif out.shape != flux.shape or out.dtype != flux.dtype or np.shares_memory(out, flux):
        raise ValueError(
            f"out must be a separate {flux.dtype} {flux.shape} array, got {out.dtype} {out.shape}"
        )
    shifts = doppler_samples(rv_kms, log_step, n)
    whole = np.floor(shifts).astype(np.int64)
    doppler_shift_rows(flux, whole, (shifts - whole).astype(flux.dtype), out)
    return out


def extinction_curve(wave_aa: np.ndarray, law: str, r_v: float) -> np.ndarray:
    """A_λ per unit E(B−V) [mag] for ``law`` (the ``extinction`` package), vacuum Å."""
    if law not in _LAWS:
        raise ValueError(f"observe.extinction_law = {law!r}; choose one of {sorted(_LAWS)}")
    wave = np.ascontiguousarray(wave_aa, dtype=np.float64)
    return _LAWS[law](wave, r_v, r_v)  # A_V = R_V for E(B−V) = 1


class FilterCoverageError(ValueError):
    """A photometric filter that the model grid does not cover."""


class MagnitudeScaler:
    """AB magnitudes of extinguished model spectra in one filter, by binned weights.

    The filter integral ∫ f_λ R λ dλ is accumulated in bins of ``bin_size`` grid samples so that
    the (smooth) extinction can be applied per bin instead of per sample.
    """

    def __init__(
        self,
        wave_aa: np.ndarray,
        filter_name: str,
        law: str,
        r_v: float,
        max_outside: float = 1e-3,
        bin_size: int = 64,
    ):
        try:
            filt = speclite.filters.load_filter(filter_name)
        except ValueError as err:
            raise FilterCoverageError(f"observe.filter = {filter_name!r}: {err}") from err
        fw, fr = filt.wavelength, filt.response
        outside = (fw < wave_aa[0]) | (fw > wave_aa[-1])
        lost = np.sum((fr * fw * np.gradient(fw))[outside]) / np.sum(fr * fw * np.gradient(fw))
        if lost > max_outside:
            support = fw[fr > 0]
            raise FilterCoverageError(
                f"filter {filter_name!r} spans {support.min():.0f}-{support.max():.0f} Å but the "
                f"grid covers {wave_aa[0]:.0f}-{wave_aa[-1]:.0f} Å ({lost:.1%} of the band "
                f"outside, more than observe.filter_max_outside = {max_outside}); pick a filter "
                "inside the grid (e.g. hsc2017-i) or build a wider grid"
            )
        self.filter_name = filter_name
        resp = np.interp(wave_aa, fw, fr, left=0.0, right=0.0)
        dlam = np.gradient(wave_aa)
        inside = np.flatnonzero(resp > 0)
        self.window = slice(inside[0], inside[-1] + 1)
        w = (resp * wave_aa * dlam)[self.window]
        norm = AB_ZERO_FNU * C_ANGSTROM_S * np.sum(resp * dlam / wave_aa)
        bins = np.arange(w.size) // bin_size
        rows = np.arange(w.size) + inside[0]
        # (bins × samples) weights (the torch port of the observe step applies them as blocks)
        self.binning = sp.csr_array((w / norm, (bins, rows)), shape=(bins[-1] + 1, wave_aa.size))
        # the same weights as (bins, bin_size) float32 rows (the last bin may be shorter)
        n_full = w.size // bin_size
        full = (w[: n_full * bin_size] / norm).astype(np.float32)
        self._full_weights = full.reshape(n_full, bin_size)
        self._tail_weights = (w[n_full * bin_size :] / norm).astype(np.float32)
        centres = np.bincount(bins, wave_aa[self.window]) / np.bincount(bins)
        self.bin_ext = extinction_curve(centres, law, r_v)

    def maggies(self, flux: np.ndarray, ebv: np.ndarray) -> np.ndarray:
        """Flux in AB maggies (10^(−0.4 m)) of float32 spectra [erg s⁻¹ cm⁻² Å⁻¹] after
        extinction."""
        return self.maggies_of_bins(self.bin_integrals(flux), ebv)

    def bin_integrals(self, flux: np.ndarray) -> np.ndarray:
        """``binning @ flux`` per spectrum (n, n_bins) float64, summed in float32: one pass
        over the filter's window (a sum of products per bin, numpy's vectorized loop)."""
        x = np.asarray(flux, dtype=np.float32)[:, self.window]
        n_full, size = self._full_weights.shape
        out = np.empty((len(x), self.binning.shape[0]))
        rows = x[:, : n_full * size].reshape(len(x), n_full, size)
        out[:, :n_full] = np.einsum("nbk,bk->nb", rows, self._full_weights)
        if self._tail_weights.size:
            out[:, n_full] = x[:, n_full * size :] @ self._tail_weights
        return out

    def maggies_of_bins(self, binned: np.ndarray, ebv: np.ndarray) -> np.ndarray:
        """Maggies from the binned filter integrals ``binning @ flux`` (n, n_bins)."""
        ext = 10 ** (-0.4 * np.multiply.outer(np.asarray(ebv, dtype=np.float64), self.bin_ext))
        return np.sum(np.asarray(binned, dtype=np.float64) * ext, axis=1)
