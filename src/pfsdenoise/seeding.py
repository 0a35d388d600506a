"""Explicit, reproducible randomness: one seed per (global seed, stage, chunk, ...), no global state."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(global_seed: int, *keys: str | int) -> int:
    """Return a 63-bit seed derived from the global seed and any number of keys.

    The derivation is a hash, so neighbouring keys give unrelated streams and adding a chunk
    never changes the seeds of the others.
    """
    text = "/".join([str(int(global_seed)), *(str(k) for k in keys)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def make_rng(global_seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator seeded by :func:`derive_seed`."""
    return np.random.default_rng(derive_seed(global_seed, *keys))


def shard_seed(global_seed: int, split: str, chunk: str, chunk_seed: int) -> int:
    """Seed of one simulated shard: from (global seed, split, chunk name, the chunk's own
    ``seed``), the same in the workflow and in ``pfsdenoise simulate``."""
    return derive_seed(global_seed, "simulate", split, chunk, chunk_seed)
