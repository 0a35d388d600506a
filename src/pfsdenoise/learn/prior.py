"""The data a model is fitted to before training: the MMSE prior's PCA basis of clean spectra."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import torch

from pfsdenoise.evaluate.baselines.pca import fit_pca
from pfsdenoise.learn.data import ShardSet, TrainingData
from pfsdenoise.seeding import derive_seed, make_rng
from pfsdenoise.shards import iter_shard_batches

log = logging.getLogger(__name__)

BLOCK = 256  # spectra per block of the PCA fit (memory only: the basis does not depend on it)


def fit_model_prior(model: torch.nn.Module, train_set: TrainingData, seed: int) -> None:
    """Fit the PCA basis of a model's MMSE prior (``model.prior``, if any) on the noiseless
    training spectra, as the ``pca`` baseline fits its basis; deterministic in the data (and,
    for the grid source, in ``seed``)."""
    prior = getattr(model, "prior", None)
    if prior is None:
        return
    k = int(prior.basis.shape[0])
    basis = fit_pca(clean_blocks(train_set, seed), k)
    prior.set_basis(basis.mean, basis.components, basis.eigenvalues)
    log.info("MMSE prior: %d principal components of %d training spectra", k, basis.n_train)


def clean_blocks(train_set: TrainingData, seed: int) -> Iterator[np.ndarray]:
    """Noiseless normalized training spectra in blocks: the train shards' ``flux_true``, or
    one epoch's worth (``n_rows``) of spectra drawn from the grid source from ``seed``."""
    if isinstance(train_set, ShardSet):
        for b in iter_shard_batches(train_set.paths, batch_size=BLOCK, columns=["flux_true"]):
            yield b.spectra["flux_true"]
        return
    rng = make_rng(seed, "prior")
    params = train_set.parameters(train_set.n_rows, rng)
    for start in range(0, train_set.n_rows, BLOCK):
        part = {k: v[start : start + BLOCK] for k, v in params.items()}
        seed_block = derive_seed(seed, "prior", start)
        truth, _, _ = train_set.spectra(part, seed_block, torch.device("cpu"))
        yield truth.numpy()
