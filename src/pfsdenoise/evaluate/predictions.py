"""The prediction shard format: one row per test spectrum, in the test shard's order.

Columns: ``spectrum_id`` (the test shard's, same order), the spectral column ``flux_denoised``
and, for a method with an uncertainty, ``sigma_denoised``; the test shard's wavelength grid.
:mod:`.alignment` checks a prediction against its test shard.

A job that writes the predictions of every chunk (``evaluate.predict_jobs: method``) also
writes their **index**, ``results/predictions/<method>/index.json``, last: the jobs that read
every prediction of a method depend on that one file (docs/scale.md).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.provenance import record_digest
from pfsdenoise.shards import read_metadata, write_shard

log = logging.getLogger(__name__)


def write_predictions(
    test_path: str | os.PathLike,
    output: str | os.PathLike,
    ids: np.ndarray,
    flux: np.ndarray | None,
    sigma: np.ndarray | None,
    *,
    method: str,
    extra: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Write a prediction shard: ``ids`` in the test shard's order, the denoised ``flux`` and,
    when given, its 1σ uncertainty ``sigma`` (rows of NaN for spectra a method left out)."""
    meta = read_metadata(test_path)
    n_pix = meta["wave"].size
    unit = "normalized (same factor as the test shard's flux)"
    spectra = {DENOISED_COLUMN: flux if flux is not None else np.zeros((0, n_pix), np.float32)}
    units = {DENOISED_COLUMN: unit}
    if sigma is not None:
        spectra[DENOISED_ERR_COLUMN] = sigma
        units[DENOISED_ERR_COLUMN] = unit + ", 1 sigma"
    write_shard(
        output,
        pd.DataFrame({"spectrum_id": ids}),
        spectra,
        meta["wave"],
        provenance=provenance,
        units={**units, "wave": meta.get("units", {}).get("wave", "Angstrom (vacuum)")},
        extra_metadata={"method": method, "test_shard": os.fspath(test_path), **(extra or {})},
    )


def index_entry(output: str | os.PathLike, record: Mapping[str, Any]) -> dict[str, str]:
    """One line of an index: an output's path and the hash of its provenance record."""
    return {"path": os.fspath(output), "record": record_digest(record)}


def write_index(
    path: str | os.PathLike,
    method: str,
    entries: Sequence[Mapping[str, str]],
    kind: str = "predictions",
) -> None:
    """Write the index of a method's outputs (:func:`index_entry` each) under ``kind``."""
    write_text_atomic(path, json.dumps({"method": method, kind: list(entries)}, indent=1))


def for_each_shard(
    items: Sequence[tuple[Any, ...]],
    work: Callable[..., object],
    provenance: Callable[[str], Mapping[str, Any]],
    *,
    method: str,
    index: str | os.PathLike | None,
    kind: str = "predictions",
) -> None:
    """``work(*item, record)`` for each item ``(test_path, output, ...)`` of a job, with
    ``provenance(test_path)`` as the record; then the ``index`` of the outputs (second elements),
    listed under ``kind`` (:func:`write_index`).

    A shard that fails does not stop the others (a batch with one bad file still does the
    rest); the failures are raised together, and no index is written then."""
    failed, listed = [], []
    for item in items:
        record = provenance(os.fspath(item[0]))
        try:
            work(*item, record)
        except Exception as exc:  # reported below, with the others
            log.error("%s: %s", item[0], exc)
            failed.append(f"{item[0]}: {exc}")
            continue
        listed.append(index_entry(item[1], record))
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(items)} shards failed: " + "; ".join(failed))
    if index is not None:
        write_index(index, method, listed, kind=kind)
