"""The template fit as a denoising method: its best-fit model is the denoised spectrum."""

from __future__ import annotations

import numpy as np

from pfsdenoise.tempfit.fit import TemplateFitter


class TemplateFitMethod:
    """:class:`~pfsdenoise.evaluate.predict.Method` adapter of a :class:`TemplateFitter`.

    The denoised spectrum is the best-fit model and its uncertainty the covariance propagated to
    the pixels (J C Jᵀ); spectra whose fit is not ``ok`` come back as NaN, never as a result.
    """

    has_error = True

    def __init__(self, fitter: TemplateFitter) -> None:
        self.fitter = fitter

    def denoise_with_error(
        self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best-fit models and their per-pixel 1σ, float32 (n, n_pix)."""
        result = self.fitter.fit(flux, sigma, mask)
        return result.model, result.model_sigma

    def denoise(self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Best-fit models, float32 (n, n_pix)."""
        return self.denoise_with_error(flux, sigma, mask)[0]
