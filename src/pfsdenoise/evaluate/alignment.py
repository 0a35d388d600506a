"""Checks that a prediction shard describes exactly the rows of its test shard."""

from __future__ import annotations

import os

import numpy as np

from pfsdenoise.shards import ShardError, SpectraBatch


class AlignmentError(ShardError):
    """A prediction shard whose rows or wavelength grid do not match its test shard."""


def check_aligned(
    test: SpectraBatch,
    pred: SpectraBatch,
    test_path: str | os.PathLike,
    pred_path: str | os.PathLike,
    *,
    wave_atol: float = 1e-6,
) -> None:
    """Raise :class:`AlignmentError` unless ids (same order) and wavelengths agree.

    A silently misaligned comparison would pair each prediction with another star's truth.
    """
    fix = f"regenerate {pred_path} from {test_path} (delete it and rerun the denoise rule)"
    if test.wave.shape != pred.wave.shape or not np.allclose(
        test.wave, pred.wave, rtol=0, atol=wave_atol
    ):
        raise AlignmentError(
            f"{pred_path}: wavelength grid ({pred.wave.size} px) differs from {test_path} "
            f"({test.wave.size} px); {fix}"
        )
    for name, batch, path in (("test", test, test_path), ("prediction", pred, pred_path)):
        if "spectrum_id" not in batch.params:
            raise AlignmentError(f"{path}: {name} shard has no 'spectrum_id' column; {fix}")
    ids_t = np.asarray(test.params["spectrum_id"], dtype=object)
    ids_p = np.asarray(pred.params["spectrum_id"], dtype=object)
    if len(ids_t) != len(ids_p):
        raise AlignmentError(
            f"{pred_path}: {len(ids_p)} rows, test shard {test_path} has {len(ids_t)}; {fix}"
        )
    bad = np.flatnonzero(ids_t != ids_p)
    if bad.size:
        i = int(bad[0])
        what = "order" if set(ids_t) == set(ids_p) else "ids"
        raise AlignmentError(
            f"{pred_path}: spectrum {what} differ from {test_path} at row {i} "
            f"({ids_p[i]!r} vs {ids_t[i]!r}, {bad.size} rows differ); {fix}"
        )
