"""The index of a split's shards changes exactly when one of its shards does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pfsdenoise.learn.testdata import write_toy_shard
from pfsdenoise.provenance import read_record
from pfsdenoise.shard_index import write_shard_index
from pfsdenoise.shards import write_shard

WAVE = np.linspace(8400.0, 8700.0, 64)


def index_of(paths, out) -> dict:
    write_shard_index(paths, out, provenance={"step": "shard_index"})
    return json.loads(out.read_text())


def test_index_follows_the_shards_records(tmp_path):
    a = write_toy_shard(tmp_path / "a.parquet", 4, 1, WAVE)
    b = write_toy_shard(tmp_path / "b.parquet", 4, 2, WAVE)
    first = index_of([a, b], tmp_path / "i.json")
    assert [e["path"] for e in first["shards"]] == [str(a), str(b)]
    assert read_record(tmp_path / "i.json") == {"step": "shard_index"}  # its sidecar
    assert index_of([a, b], tmp_path / "j.json") == first  # same shards, same index
    write_toy_shard(b, 4, 3, WAVE)  # another seed in b's record
    second = index_of([a, b], tmp_path / "i.json")
    assert second["shards"][0] == first["shards"][0] and second["shards"][1] != first["shards"][1]


def test_a_shard_without_record_is_identified_by_its_content(tmp_path):
    arrays = {"flux": np.ones((2, WAVE.size), np.float32)}
    params = pd.DataFrame({"spectrum_id": ["x/0", "x/1"]})
    path = write_shard(tmp_path / "x.parquet", params, arrays, WAVE)
    entry = index_of([path], tmp_path / "i.json")["shards"][0]
    assert entry["checksum"].startswith("sha256:") and "record" not in entry
