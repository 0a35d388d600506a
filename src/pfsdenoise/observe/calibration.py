"""Flux-calibration distortions: smooth random multiplicative curves across the arm.

Pál & Dobos (2024) trained with imperfect flux calibration; the authors' code drew a smooth
wavelength-dependent factor per spectrum. Here a curve is a sum of Legendre-like random Fourier
modes whose shortest scale is ``scale`` (Å), with rms ``amplitude`` around 1.
"""

from __future__ import annotations

import numpy as np


def draw_distortions(
    wave: np.ndarray,
    n: int,
    rng: np.random.Generator,
    amplitude: float,
    scale: float,
) -> np.ndarray:
    """Return ``n`` smooth multiplicative curves (n, wave.size), float32, each with rms ≈ amplitude.

    Parameters
    ----------
    wave
        Pixel wavelengths [Å].
    amplitude
        rms of the fractional distortion (0.01 = 1 %); 0 gives exact ones.
    scale
        Shortest wavelength scale of the variations [Å]; larger is smoother.
    """
    wave = np.asarray(wave, dtype=np.float64)
    if amplitude < 0 or scale <= 0:
        raise ValueError(
            f"calibration distortion needs amplitude >= 0 and scale > 0, got {amplitude}, {scale}"
        )
    if amplitude == 0:
        return np.ones((n, wave.size), dtype=np.float32)
    span = wave[-1] - wave[0]
    x = (wave - wave[0]) / span  # 0 .. 1 across the arm
    n_modes = max(1, int(np.ceil(span / scale)))
    k = np.arange(1, n_modes + 1)
    # Amplitudes fall with wavenumber so the curve is dominated by the largest scales.
    weights = 1.0 / k
    coeff = rng.standard_normal((n, n_modes)) * weights
    phase = rng.uniform(0, 2 * np.pi, size=(n, n_modes))
    # curve_j(x) = sum_k c_jk cos(pi k x + phi_jk)
    arg = np.pi * k[None, :, None] * x[None, None, :] + phase[:, :, None]
    curves = np.einsum("nk,nkx->nx", coeff, np.cos(arg))
    rms = np.sqrt(np.mean(curves**2, axis=1, keepdims=True))
    rms[rms == 0] = 1.0
    return (1.0 + amplitude * curves / rms).astype(np.float32)
