"""Denoise spectra in the user's units on any wavelength grid of the model's arm.

:class:`SpectrumDenoiser` wraps a trained :class:`~pfsdenoise.denoise.model.TrainedModel` (which
works on normalized arrays on its own pixel grid). It

1. checks the input (shapes, strictly increasing wavelengths inside the model's arm);
2. rebins flux and σ flux-conservingly onto the model's pixels (:func:`rebin_matrix`): each
   output pixel is the overlap-weighted mean of the input pixels it covers, variances add with
   squared weights; masked, NaN and σ ≤ 0 pixels are left out, not propagated;
3. divides by the shards' normalization (median noisy flux in the normalization window, the
   function the simulator uses), denoises, multiplies back;
4. optionally rebins the result back onto the input grid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from pfsdenoise.spectrum import masked_median

MIN_COVERAGE = 0.5
"""An output pixel whose width is less than this fraction covered by good input pixels is
masked (choice: a majority of the pixel must be measured)."""
MAX_OUTSIDE = 0.02
"""Largest fraction of input pixels allowed outside the model's wavelength range before the
input is refused as belonging to another arm (choice: allows a few pixels of edge shift)."""


class SpectrumError(ValueError):
    """Input arrays that cannot be denoised by a model (grid, shape, values)."""


def pixel_edges(wave: np.ndarray) -> np.ndarray:
    """Pixel edges from pixel centres (midpoints; outer edges extrapolated by half a pixel)."""
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[wave[0] - (mid[0] - wave[0])], mid, [wave[-1] + (wave[-1] - mid[-1])]])


def rebin_matrix(wave_in: np.ndarray, wave_out: np.ndarray) -> sp.csr_matrix:
    """Sparse ``(n_out, n_in)`` matrix of overlap fractions: ``W @ f`` is the flux-conserving
    rebinning of a flux density ``f`` sampled at pixel centres ``wave_in`` onto ``wave_out``.

    Row sums are the covered fraction of each output pixel (1 inside the input range).
    """
    e_in, e_out = pixel_edges(wave_in), pixel_edges(wave_out)
    lo, hi = max(e_in[0], e_out[0]), min(e_in[-1], e_out[-1])
    cuts = np.unique(np.concatenate([e_in, e_out]))
    cuts = cuts[(cuts >= lo) & (cuts <= hi)]
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    i = np.searchsorted(e_in, mid) - 1
    j = np.searchsorted(e_out, mid) - 1
    weight = np.diff(cuts) / np.diff(e_out)[j]
    return sp.csr_matrix((weight, (j, i)), shape=(wave_out.size, wave_in.size))


def rebin(
    matrix: sp.csr_matrix, flux: np.ndarray, sigma: np.ndarray, good: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebin ``(n, n_in)`` flux and σ with ``matrix`` using only ``good`` pixels.

    Returns flux, σ and a mask (True where less than :data:`MIN_COVERAGE` is covered).
    """
    g = good.astype(np.float64)
    f = np.where(good, flux, 0.0)
    v = np.where(good, sigma, 0.0) ** 2
    cover = (matrix @ g.T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out_f = (matrix @ (f * g).T).T / cover
        out_s = np.sqrt((matrix.multiply(matrix) @ (v * g).T).T) / cover
    bad = ~(cover >= MIN_COVERAGE)
    return np.where(bad, np.nan, out_f), np.where(bad, np.nan, out_s), bad


def norm_window(normalization: Any, wave: np.ndarray) -> np.ndarray:
    """Model pixels in the normalization window recorded with the model (``window: [lo, hi]``
    in the shards' ``normalization`` metadata); all pixels when none is recorded."""
    lo, hi = (normalization or {}).get("window", (-np.inf, np.inf))
    window = (wave >= lo) & (wave <= hi)
    return window if window.any() else np.ones(wave.size, dtype=bool)


@dataclass
class Denoised:
    """Result: denoised flux in the input's units on ``wave``; ``mask`` True where the input had
    no usable data (the flux there is the model's inpainted value; NaN outside the model's
    range); ``norm`` the per-spectrum normalization that was applied and undone."""

    wave: np.ndarray
    flux: np.ndarray
    mask: np.ndarray
    norm: np.ndarray


class SpectrumDenoiser:
    """A trained model that denoises (wavelength, flux, σ[, mask]) in the user's units."""

    def __init__(self, denoiser: Any) -> None:
        self.denoiser = denoiser
        self.wave: np.ndarray = np.asarray(denoiser.wave, dtype=np.float64)
        self.card: dict = denoiser.card
        self.normalization = denoiser.normalization
        self.path: str = denoiser.path
        self._window = norm_window(self.normalization, self.wave)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> SpectrumDenoiser:
        """Load a model file (weights-only: no code from the file is executed)."""
        from pfsdenoise.denoise.model import load_model

        return cls(load_model(path, device))

    def check_wave(self, wave: np.ndarray, source: str = "input") -> np.ndarray:
        """Validate a 1-D wavelength array [Å] against the model's arm; return it as float64."""
        wave = np.asarray(wave, dtype=np.float64)
        if wave.ndim != 1 or wave.size < 2:
            raise SpectrumError(f"{source}: wavelength must be a 1-D array of ≥ 2 pixels")
        if not np.all(np.isfinite(wave)):
            raise SpectrumError(f"{source}: wavelength holds NaN/inf values")
        if not np.all(np.diff(wave) > 0):
            k = int(np.flatnonzero(~(np.diff(wave) > 0))[0])
            raise SpectrumError(
                f"{source}: wavelengths are not strictly increasing (pixel {k + 1}: "
                f"{wave[k + 1]:.4f} after {wave[k]:.4f}); sort them or reverse the arrays"
            )
        outside = (wave < self.wave[0]) | (wave > self.wave[-1])
        if outside.mean() > MAX_OUTSIDE:
            raise SpectrumError(
                f"{source}: {outside.mean():.0%} of the wavelengths ({wave[0]:.2f}-{wave[-1]:.2f}) "
                f"lie outside the model's arm ({self.wave[0]:.2f}-{self.wave[-1]:.2f} Å, "
                f"{self.path}); wavelengths must be vacuum Å of the same arm"
            )
        return wave

    def denoise(
        self,
        wave: np.ndarray,
        flux: np.ndarray,
        sigma: np.ndarray,
        mask: np.ndarray | None = None,
        *,
        on_input_grid: bool = True,
        batch_size: int = 256,
        source: str = "input",
    ) -> Denoised:
        """Denoise one spectrum (1-D arrays) or a batch (``(n, n_pix)``, one shared ``wave``).

        NaN flux, NaN/non-positive σ and ``mask`` True pixels are ignored. With
        ``on_input_grid`` the result is rebinned back to ``wave``, else it is on ``self.wave``.
        """
        wave = self.check_wave(wave, source)
        one = np.ndim(flux) == 1
        flux = np.atleast_2d(np.asarray(flux, dtype=np.float64))
        sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
        mask = np.zeros(flux.shape, bool) if mask is None else np.atleast_2d(np.asarray(mask, bool))
        if flux.ndim != 2 or not (flux.shape == sigma.shape == mask.shape):
            raise SpectrumError(
                f"{source}: flux {flux.shape}, sigma {sigma.shape}, mask {mask.shape}: expected "
                f"arrays of one shape (n_pix,) or (n, n_pix)"
            )
        if flux.shape[1] != wave.size:
            raise SpectrumError(
                f"{source}: flux has {flux.shape[1]} pixels but wavelength has {wave.size}"
            )
        with np.errstate(invalid="ignore"):
            good = ~mask & np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
        to_model = rebin_matrix(wave, self.wave)
        f, s, bad = rebin(to_model, flux, sigma, good)
        norm = masked_median(f, self._window & ~bad)
        if np.any(~(norm > 0)):
            row = int(np.flatnonzero(~(norm > 0))[0])
            raise SpectrumError(
                f"{source}: spectrum {row}: median flux in the normalization window is "
                f"{norm[row]}; it needs positive flux there to be normalized"
            )
        k = norm[:, None]
        out = self.denoiser.denoise(
            (f / k).astype(np.float32), (s / k).astype(np.float32), bad, batch_size
        )
        out = np.atleast_2d(out).astype(np.float64) * k
        out_mask, out_wave = bad, self.wave
        if on_input_grid:  # the model's values at masked pixels are kept (inpainted), flagged
            back = rebin_matrix(self.wave, wave)
            out, _, uncovered = rebin(back, out, np.ones_like(out), np.ones(out.shape, bool))
            out_mask = uncovered | ~((back @ bad.T.astype(np.float64)).T < MIN_COVERAGE)
            out_wave = wave
        if one:
            return Denoised(out_wave, out[0], out_mask[0], norm[:1])
        return Denoised(out_wave, out, out_mask, norm)


def load_spectrum_denoiser(path: str | os.PathLike, device: str | None = None) -> SpectrumDenoiser:
    """Load a model file for denoising spectra in user units (see :class:`SpectrumDenoiser`)."""
    return SpectrumDenoiser.load(path, device)
