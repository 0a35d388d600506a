"""Noise realizations: the one place where a noisy spectrum is drawn from its truth and σ."""

from __future__ import annotations

import numpy as np


def noisy_realization(
    flux_true: np.ndarray, sigma: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``flux_true + sigma · N(0, 1)`` per pixel (Gaussian limit of photon and read noise).

    Used both by the simulator and by training augmentation (a fresh draw every epoch).
    """
    noise = rng.standard_normal(np.shape(flux_true), dtype=np.float32)
    return np.asarray(flux_true, dtype=np.float32) + np.asarray(sigma, dtype=np.float32) * noise
