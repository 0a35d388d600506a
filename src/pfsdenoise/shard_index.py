"""The index of a split's shards: one small file that the jobs reading every shard depend on.

A job that reads all shards of a split (training, baseline fits and tuning, per-method
prediction, errors, example figures) depends on ``results/shards/<split>.index.json`` instead of
on each shard: with hundreds of chunks that is one dependency for the planner instead of
hundreds per job (benchmarks/bench_plan.py). The index lists each shard with the hash of its
provenance record, which changes whenever the shard's config, seed, code or inputs do (a shard
without a record, made outside the workflow: its checksum), so Snakemake reruns the readers
exactly when a shard changed (it compares small files by content).
The shard paths themselves reach the readers through their rules' ``params``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.provenance import file_checksum, read_record, record_digest, write_sidecar


def write_shard_index(
    shards: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    provenance: Mapping[str, Any],
) -> None:
    """Write the index of ``shards`` (path and record hash each) and its provenance sidecar."""
    entries = []
    for path in shards:
        record = read_record(path)
        if record is None:  # a shard made outside the workflow: its content identifies it
            entries.append({"path": os.fspath(path), "checksum": file_checksum(path)})
            continue
        entries.append({"path": os.fspath(path), "record": record_digest(record)[:16]})
    write_text_atomic(output, json.dumps({"shards": entries}, indent=1) + "\n")
    write_sidecar(output, provenance)
