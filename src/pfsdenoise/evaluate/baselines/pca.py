"""PCA basis of clean training spectra and its noise-weighted MMSE (Wiener) projection.

Model: y = μ + Vᵀa + n with a ~ N(0, Λ) (Λ = the PCA eigenvalues) and n ~ N(0, diag σ²). The
posterior mean of a is (Λ⁻¹ + V W Vᵀ)⁻¹ V W (y − μ) with W = diag(1/σ²) (0 on unusable pixels),
so noisy and masked pixels weigh little or nothing and weak components are shrunk rather than
cut: the strongest cheap baseline of SCIENCE.md §7.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.evaluate.baselines.common import as_inputs, inverse_variance


@dataclass(frozen=True)
class PCABasis:
    """Mean spectrum (n_pix,), components (k, n_pix) with unit rows, eigenvalues (k,)."""

    mean: np.ndarray
    components: np.ndarray
    eigenvalues: np.ndarray
    n_train: int

    def truncated(self, n_components: int) -> PCABasis:
        """The first ``n_components`` components (all of them if fewer exist)."""
        k = min(int(n_components), len(self.eigenvalues))
        return PCABasis(self.mean, self.components[:k], self.eigenvalues[:k], self.n_train)


def fit_pca(batches: Iterable[np.ndarray], max_components: int) -> PCABasis:
    """Fit a PCA basis from batches of clean spectra (rows).

    With fewer spectra than pixels the small Gram matrix is decomposed (fast, holds the spectra);
    with more, the covariance is accumulated batch by batch, so memory stays at one
    (n_pix, n_pix) matrix whatever the number of training spectra.
    """
    held: list[np.ndarray] = []
    total = outer = None
    n = 0
    for block in batches:
        x = np.asarray(block, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(
                "clean training spectra (flux_true) contain non-finite values; PCA needs "
                "finite noiseless spectra: check the simulate stage"
            )
        n += len(x)
        if outer is None and n <= x.shape[1]:
            held.append(x)
            continue
        if outer is None:  # switch to streaming the covariance
            x = np.concatenate([*held, x])
            held = []
            total, outer = x.sum(axis=0), x.T @ x
        else:
            total, outer = total + x.sum(axis=0), outer + x.T @ x
    if n < 2:
        raise ValueError(f"PCA needs at least 2 training spectra, got {n}")
    k = min(max_components, n - 1)
    if outer is None:
        data = np.concatenate(held)
        mean = data.mean(axis=0)
        centred = data - mean
        evals, vecs = np.linalg.eigh(centred @ centred.T / (n - 1))
        order = np.argsort(evals)[::-1][:k]
        evals = np.clip(evals[order], np.finfo(float).tiny, None)
        comps = (centred.T @ vecs[:, order]).T
        comps /= np.linalg.norm(comps, axis=1, keepdims=True)
    else:
        mean = total / n
        evals, vecs = np.linalg.eigh((outer - n * np.outer(mean, mean)) / (n - 1))
        order = np.argsort(evals)[::-1][:k]
        evals = np.clip(evals[order], np.finfo(float).tiny, None)
        comps = vecs[:, order].T
    return PCABasis(mean, np.ascontiguousarray(comps), evals, n)


def save_basis(path: str | Path, basis: PCABasis) -> None:
    """Write a basis as .npz, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            mean=basis.mean,
            components=basis.components,
            eigenvalues=basis.eigenvalues,
            n_train=basis.n_train,
        )


def load_basis(path: str | Path) -> PCABasis:
    """Read a basis written by :func:`save_basis`."""
    with np.load(path) as data:
        missing = {"mean", "components", "eigenvalues", "n_train"} - set(data.files)
        if missing:
            raise ValueError(f"{path}: not a PCA basis file (missing {sorted(missing)})")
        return PCABasis(data["mean"], data["components"], data["eigenvalues"], int(data["n_train"]))


def pca_mmse(
    flux: np.ndarray,
    sigma: np.ndarray,
    mask: np.ndarray,
    *,
    basis: PCABasis,
    n_components: int,
    block: int = 32,
) -> np.ndarray:
    """Posterior-mean reconstruction of each spectrum in the first ``n_components`` components."""
    flux, sigma, mask = as_inputs(flux, sigma, mask)
    if flux.shape[1] != basis.mean.size:
        raise ValueError(
            f"spectra have {flux.shape[1]} pixels, the PCA basis {basis.mean.size}; refit the "
            "basis on training spectra of the same wavelength grid"
        )
    b = basis.truncated(n_components)
    v = b.components
    prior = np.diag(1.0 / b.eigenvalues)
    w = inverse_variance(flux, sigma, mask)
    resid = np.where(w > 0, flux - b.mean, 0.0)
    out = np.empty_like(flux)
    for start in range(0, len(flux), block):
        sl = slice(start, start + block)
        vw = v[None, :, :] * w[sl, None, :]  # (m, k, n_pix)
        lhs = prior[None] + vw @ v.T  # (m, k, k)
        rhs = np.einsum("mkp,mp->mk", vw, resid[sl])
        coef = np.linalg.solve(lhs, rhs[..., None])[..., 0]
        out[sl] = b.mean + coef @ v
    return out


def fit_basis_from_shards(
    train_paths: Sequence[str | Path],
    output: str | Path,
    *,
    max_components: int,
    batch_size: int,
    provenance: Mapping[str, Any],
) -> PCABasis:
    """Fit the basis on the ``flux_true`` column of the training shards and save it with its
    provenance sidecar."""
    from pfsdenoise.provenance import write_sidecar
    from pfsdenoise.shards import iter_shard_batches

    blocks = (
        b.spectra["flux_true"]
        for b in iter_shard_batches(train_paths, batch_size=batch_size, columns=["flux_true"])
    )
    basis = fit_pca(blocks, max_components)
    save_basis(output, basis)
    write_sidecar(output, provenance)
    return basis
