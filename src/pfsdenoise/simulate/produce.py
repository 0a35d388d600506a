"""Dataset production: simulate one stellar-parameter chunk of one split into a Parquet shard.

The glue between the simulator (:func:`pfsdenoise.simulate.chunk.simulate_chunk`), the shard
writer and the provenance record; called by the workflow's ``simulate`` rule and by ``pfsdenoise simulate``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.shards import write_shard

log = logging.getLogger(__name__)


def chunk_ranges(chunk: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """The parameter ranges a chunk restricts sampling to, checked for low < high."""
    ranges = {}
    for axis in STELLAR_AXES:
        if axis in chunk:
            lo, hi = (float(v) for v in chunk[axis])
            if not lo < hi:
                raise ValueError(
                    f"chunk {chunk.get('name')!r}: range {axis}: [{lo}, {hi}] is empty; "
                    "give [low, high] with low < high"
                )
            ranges[axis] = (lo, hi)
    return ranges


def chunk_sampling(sampling: Mapping[str, Any], chunk: Mapping[str, Any]) -> dict[str, Any]:
    """The global distributions with the chunk's own ones (``chunk["sampling"]``) in their place."""
    return {**sampling, **chunk["sampling"]}


def spectrum_ids(split: str, chunk: str, n: int) -> np.ndarray:
    """Unique, readable row ids: ``<split>/<chunk>/<row:06d>``."""
    return np.array([f"{split}/{chunk}/{i:06d}" for i in range(n)], dtype=object)


def produce_shard(
    output: str | os.PathLike,
    *,
    grid_dir: str | os.PathLike,
    noise_table: str | os.PathLike,
    split: str,
    chunk: Mapping[str, Any],
    n_spectra: int,
    seed: int,
    sampling: Mapping[str, Any],
    observe: Mapping[str, Any],
    row_group_size: int,
    provenance: Mapping[str, Any],
) -> Path:
    """Simulate ``n_spectra`` observations of ``chunk`` and write them atomically to ``output``
    with the ``provenance`` record (the grid's id added to it)."""
    from pfsdenoise.grid.store import open_grid
    from pfsdenoise.simulate.chunk import simulate_chunk

    if n_spectra < 1:
        raise ValueError(f"n_spectra must be >= 1, got {n_spectra}")
    ranges = chunk_ranges(chunk)
    grid = open_grid(grid_dir)
    log.info(
        "simulating %d spectra of chunk %s (%s), seed %d", n_spectra, chunk["name"], split, seed
    )
    batch = simulate_chunk(
        grid, noise_table, n_spectra, seed, chunk_sampling(sampling, chunk), dict(observe), ranges
    )
    params = batch.params.copy()
    params.insert(0, "spectrum_id", spectrum_ids(split, chunk["name"], len(params)))
    record = {**provenance, "grid_id": grid.metadata.get("grid_id", str(grid_dir))}
    metadata = {k: v for k, v in batch.metadata.items() if k not in ("wave", "units", "provenance")}
    write_shard(
        output,
        params,
        batch.spectra,
        batch.wave,
        provenance=record,
        units=batch.metadata.get("units"),
        extra_metadata=metadata,
        row_group_size=row_group_size,
    )
    log.info("wrote %s (%d spectra)", output, len(params))
    return Path(output)
