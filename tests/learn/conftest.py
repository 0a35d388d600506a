"""Small stand-in shards (512 pixels) for the learn tests."""

from __future__ import annotations

import pytest
from learn_helpers import WAVE

from pfsdenoise.learn.testdata import write_toy_shard


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    """Two training shards of 24 spectra and one validation shard of 16."""
    root = tmp_path_factory.mktemp("shards")
    train = [write_toy_shard(root / f"train/{c}.parquet", 24, i, WAVE) for i, c in enumerate("ab")]
    val = [write_toy_shard(root / "val/a.parquet", 16, 7, WAVE, split="val")]
    return {"train": [str(p) for p in train], "val": [str(p) for p in val]}
