"""Stand-ins shared by the denoise tests (a module of its own, so test modules import it by a
unique name)."""

from __future__ import annotations

import numpy as np


class ErrorModel:
    """A stand-in model with the uncertainty contract (TEAM.md): returns the input flux and
    half the input σ as σ̂ (normalized arrays)."""

    has_error = True
    normalization = None

    def __init__(self, wave: np.ndarray, path) -> None:
        self.wave, self.path = wave, path
        self.card = {"arch": "fake"}
        path.write_bytes(b"weights")

    def denoise(self, flux, sigma, mask):
        raise AssertionError("a model with has_error is called through denoise_with_error")

    def denoise_with_error(self, flux, sigma, mask):
        return np.nan_to_num(flux).astype(np.float32), (0.5 * np.nan_to_num(sigma)).astype(
            np.float32
        )
