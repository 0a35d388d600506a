"""Synthetic train/val/test shards for the evaluation tests (see evaluate_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluate_helpers import write_synthetic


@pytest.fixture(scope="session")
def shard_dir(tmp_path_factory) -> Path:
    """train/val/test shards (two test chunks) in a temporary folder."""
    root = tmp_path_factory.mktemp("shards")
    sizes = {"train": 120, "val": 60, "test": 40}
    for s, (split, n) in enumerate(sizes.items()):
        for c, chunk in enumerate(["a", "b"]):
            write_synthetic(root / split / f"{chunk}.parquet", n, 100 * s + c, split, chunk)
    return root
