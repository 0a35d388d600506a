"""Per-spectrum error table of one method over all test shards (``results/errors/<method>.parquet``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pfsdenoise.constants import DENOISED_COLUMN
from pfsdenoise.evaluate.alignment import AlignmentError, check_aligned
from pfsdenoise.evaluate.metrics import spectrum_metrics
from pfsdenoise.shards import (
    ShardError,
    SpectraBatch,
    concat_batches,
    iter_shard_batches,
    read_shard,
    write_shard,
)

log = logging.getLogger(__name__)

TEST_SPECTRA = ("flux", "flux_true", "sigma", "mask")


def exact_batches(
    path: str | os.PathLike, size: int, columns: Sequence[str] | None = None
) -> Iterator[SpectraBatch]:
    """Stream a shard in batches of exactly ``size`` rows (the last may be shorter), so two
    shards with different row groups can be walked in lockstep."""
    buffer: list[SpectraBatch] = []
    held = 0
    for batch in iter_shard_batches([path], batch_size=size, columns=columns):
        buffer.append(batch)
        held += n_rows(batch)
        while held >= size:
            joined = concat_batches(buffer)
            yield _rows(joined, slice(0, size))
            rest = _rows(joined, slice(size, None))
            buffer, held = ([rest], n_rows(rest)) if n_rows(rest) else ([], 0)
    if held:
        yield concat_batches(buffer)


def n_rows(batch: SpectraBatch) -> int:
    """Rows of a batch, also when it was read without scalar columns."""
    if batch.spectra:
        return len(next(iter(batch.spectra.values())))
    return len(batch.params)


def _rows(batch: SpectraBatch, sl: slice) -> SpectraBatch:
    return SpectraBatch(
        batch.params.iloc[sl].reset_index(drop=True),
        {k: v[sl] for k, v in batch.spectra.items()},
        batch.wave,
        batch.metadata,
    )


def shard_errors(
    test_path: str | os.PathLike,
    pred_path: str | os.PathLike,
    *,
    lines: Mapping[str, Sequence[float]],
    line_half_width: float,
    min_truth: float,
    batch_size: int,
) -> pd.DataFrame:
    """Metrics of every spectrum of one test shard against its prediction shard."""
    test_ids = read_shard(test_path, columns=["spectrum_id"])
    pred_ids = read_shard(pred_path, columns=["spectrum_id"])
    check_aligned(test_ids, pred_ids, test_path, pred_path)
    frames = []
    test_iter = exact_batches(test_path, batch_size)
    pred_iter = exact_batches(pred_path, batch_size, columns=["spectrum_id", DENOISED_COLUMN])
    for test, pred in zip(test_iter, pred_iter, strict=True):
        check_aligned(test, pred, test_path, pred_path)
        missing = [c for c in TEST_SPECTRA if c not in test.spectra]
        if missing:
            raise ShardError(f"{test_path}: test shard lacks spectral column(s) {missing}")
        if "rv" not in test.params:
            raise ShardError(
                f"{test_path}: test shard lacks the 'rv' column (line windows need it)"
            )
        metrics = spectrum_metrics(
            pred.spectra[DENOISED_COLUMN],
            test.spectra["flux"],
            test.spectra["flux_true"],
            test.spectra["sigma"],
            test.spectra["mask"],
            test.wave,
            test.params["rv"].to_numpy(),
            lines=lines,
            line_half_width=line_half_width,
            min_truth=min_truth,
        )
        frame = test.params.copy()
        frame.insert(1, "chunk", Path(test_path).stem)
        for key, value in metrics.items():
            frame[key] = value
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    n_empty = int((table.get("n_valid", pd.Series(dtype=int)) == 0).sum())
    if n_empty:
        log.warning("%s: %d spectra have no valid pixel; their errors are NaN", test_path, n_empty)
    return table


def error_table(
    test_paths: Sequence[str | os.PathLike],
    pred_paths: Sequence[str | os.PathLike],
    **kwargs: Any,
) -> pd.DataFrame:
    """Concatenate :func:`shard_errors` over paired test and prediction shards."""
    if len(test_paths) != len(pred_paths):
        raise AlignmentError(
            f"{len(pred_paths)} prediction shards for {len(test_paths)} test shards; every test "
            "chunk needs its prediction"
        )
    for t, p in zip(test_paths, pred_paths, strict=True):
        if Path(t).name != Path(p).name:
            raise AlignmentError(
                f"prediction {p} is paired with test shard {t}: chunk names differ"
            )
    return pd.concat(
        [shard_errors(t, p, **kwargs) for t, p in zip(test_paths, pred_paths, strict=True)],
        ignore_index=True,
    )


def write_error_table(
    test_paths: Sequence[str | os.PathLike],
    pred_paths: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    method: str,
    provenance: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Compute :func:`error_table` and write it as ``results/errors/<method>.parquet``."""
    table = error_table(test_paths, pred_paths, **kwargs)
    wave = read_shard(test_paths[0], columns=["spectrum_id"]).wave
    table.insert(0, "method", method)
    write_shard(output, table, {}, wave, provenance=provenance, extra_metadata={"method": method})
    return table
