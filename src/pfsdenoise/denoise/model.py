"""A trained network loaded from its model file, denoising normalized arrays on its pixel grid.

The file format (weights-only loading, no code executed) is :mod:`pfsdenoise.learn.checkpoint`;
:class:`pfsdenoise.denoise.api.SpectrumDenoiser` wraps a :class:`TrainedModel` for spectra in
the user's units and on other wavelength grids.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from pfsdenoise.learn.checkpoint import MAX_MODEL_MB, load_plain, pick_device, rebuild
from pfsdenoise.spectrum import SpectrumArrayError, prepare_inputs


class TrainedModel:
    """A trained network ready to denoise normalized spectra on its own wavelength grid."""

    def __init__(
        self,
        payload: Mapping[str, Any],
        path: Any,
        device: str | None = None,
        *,
        max_mb: float = MAX_MODEL_MB,
    ) -> None:
        self.path = str(path)
        self.device = pick_device(device)
        self.model = rebuild(payload, path, max_mb=max_mb).to(self.device).eval()
        self.arch: str = payload["arch"]
        self.hyper: dict = dict(payload["hyper"])
        self.wave: np.ndarray = payload["wave"].numpy()
        self.normalization = payload.get("normalization")
        self.schema_version: int = int(payload["schema_version"])
        self.card: dict = dict(payload.get("card", {}))
        self.has_error: bool = bool(getattr(self.model, "has_error", False))

    def check_grid(self, wave: np.ndarray, source: str = "input") -> None:
        """Raise unless ``wave`` is this model's wavelength grid."""
        wave = np.asarray(wave, dtype=np.float64)
        if wave.shape != self.wave.shape or not np.allclose(wave, self.wave, rtol=0, atol=1e-6):
            raise SpectrumArrayError(
                f"{source}: wavelength grid of {wave.size} px differs from the model's "
                f"({self.wave.size} px, {self.wave[0]:.3f}-{self.wave[-1]:.3f} Å, {self.path})"
            )

    def denoise(
        self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray, batch_size: int = 256
    ) -> np.ndarray:
        """Denoise normalized ``(n, n_pix)`` arrays (1-D: one spectrum); returns float32 flux."""
        return self._run(flux, sigma, mask, batch_size, with_error=False)[0]

    def denoise_with_error(
        self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Denoised flux and its per-pixel uncertainty σ̂ (float32, the input's shape); only for
        a model with an error head (``has_error``)."""
        if not self.has_error:
            raise SpectrumArrayError(
                f"{self.path}: this {self.arch} model has no uncertainty head (has_error is "
                "False); train it with hyper error_head: true"
            )
        return self._run(flux, sigma, mask, batch_size, with_error=True)

    @torch.no_grad()
    def _run(
        self,
        flux: np.ndarray,
        sigma: np.ndarray,
        mask: np.ndarray,
        batch_size: int,
        with_error: bool,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        one = np.ndim(flux) == 1
        flux, sigma, mask = (np.atleast_2d(a) for a in (flux, sigma, mask))
        if flux.shape[-1] != self.wave.size:
            raise SpectrumArrayError(
                f"spectra of {flux.shape[-1]} px; the model ({self.path}) expects {self.wave.size}"
            )
        out = np.empty(flux.shape, dtype=np.float32)
        err = np.empty(flux.shape, dtype=np.float32) if with_error else None
        for start in range(0, len(flux), batch_size):
            sl = slice(start, start + batch_size)
            inp, sig, bad = prepare_inputs(flux[sl], sigma[sl], mask[sl])
            tensors = [torch.from_numpy(a).to(self.device) for a in (inp, sig, bad)]
            if with_error:
                mean, sig_hat = self.model.forward_with_error(*tensors)
                err[sl] = sig_hat.float().cpu().numpy()
            else:
                mean = self.model(*tensors)
            out[sl] = mean.float().cpu().numpy()
        if one:
            return out[0], None if err is None else err[0]
        return out, err


def load_model(
    path: str | os.PathLike, device: str | None = None, *, max_mb: float = MAX_MODEL_MB
) -> TrainedModel:
    """Load a model file (weights-only, no code executed) onto ``device`` (default: auto);
    a file whose hyper-parameters disagree with its tensors, or imply more than ``max_mb`` MB
    of weights, is refused before the model is built."""
    return TrainedModel(load_plain(path), path, device, max_mb=max_mb)
