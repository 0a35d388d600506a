"""Classical baselines: every one is a function ``f(flux, sigma, mask, **params) -> (n, n_pix)``
on normalized spectra, the same call as a trained model's ``denoise``.

``identity`` has no parameter; the others are tuned per S/N bin on validation spectra
(:mod:`pfsdenoise.evaluate.tuning`); ``pca`` also needs a basis fitted on clean training
spectra (:mod:`.pca`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from pfsdenoise.evaluate.baselines.pca import PCABasis, pca_mmse
from pfsdenoise.evaluate.baselines.smoothing import identity, ivar_gauss, savgol
from pfsdenoise.evaluate.baselines.wavelet import wavelet

Baseline = Callable[..., np.ndarray]

BASELINES: dict[str, Baseline] = {
    "identity": identity,
    "savgol": savgol,
    "gauss": ivar_gauss,
    "wavelet": wavelet,
    "pca": pca_mmse,
}
"""Baseline name (as used in config and output paths) → function."""

TUNABLE = ("savgol", "gauss", "wavelet", "pca")
"""Baselines whose parameters are chosen on validation data."""


def baseline_function(name: str, basis: PCABasis | None = None) -> Baseline:
    """The function of baseline ``name`` (with the PCA basis bound for ``pca``)."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {sorted(BASELINES)}")
    if name == "pca":
        if basis is None:
            raise ValueError(
                "baseline 'pca' needs a fitted basis (results/baselines/pca/basis.npz)"
            )
        return functools.partial(pca_mmse, basis=basis)
    return BASELINES[name]
