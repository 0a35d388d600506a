"""Denoise a test shard with one method and write the prediction shard.

A prediction shard has the test shard's ``spectrum_id`` column in the same order, the spectral
column ``flux_denoised`` (plus ``sigma_denoised``, the per-pixel uncertainty, for a method that
``has_error``) and the same wavelength grid; :mod:`.alignment` checks all three.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.evaluate.baselines import TUNABLE, baseline_function
from pfsdenoise.evaluate.baselines.pca import load_basis
from pfsdenoise.evaluate.tuning import TunedBaseline, TunedParams, load_params
from pfsdenoise.shards import iter_shard_batches, read_metadata, write_shard

log = logging.getLogger(__name__)

INPUT_COLUMNS = ("spectrum_id", "flux", "sigma", "mask")


class Method(Protocol):
    """A denoising method on normalized arrays: a trained model, a baseline, a template fit."""

    def denoise(self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def baseline_denoiser(
    name: str,
    params_path: str | os.PathLike | None = None,
    basis_path: str | os.PathLike | None = None,
) -> TunedBaseline:
    """Build a baseline from its tuned parameters (and, for ``pca``, its basis)."""
    basis = load_basis(basis_path) if basis_path else None
    func = baseline_function(name, basis)
    if name in TUNABLE:
        if params_path is None:
            raise ValueError(f"baseline {name!r} needs its tuned parameters (params.json)")
        tuned = load_params(params_path)
        if tuned.method != name:
            raise ValueError(f"{params_path}: parameters of {tuned.method!r}, not of {name!r}")
    else:
        tuned = TunedParams(name, [0.0, 1.0], [{}])
    return TunedBaseline(func, tuned)


def denoise_shard(
    test_path: str | os.PathLike,
    output: str | os.PathLike,
    denoiser: Method,
    *,
    method: str,
    batch_size: int,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Denoise every spectrum of ``test_path`` in batches; write ``output`` (with the
    uncertainty column when the method ``has_error``); return timing."""
    with_error = bool(getattr(denoiser, "has_error", False))
    ids: list[np.ndarray] = []
    columns: dict[str, list[np.ndarray]] = {DENOISED_COLUMN: []}
    if with_error:
        columns[DENOISED_ERR_COLUMN] = []
    elapsed = 0.0
    for batch in iter_shard_batches([test_path], batch_size=batch_size, columns=INPUT_COLUMNS):
        start = time.perf_counter()
        args = (batch.spectra["flux"], batch.spectra["sigma"], batch.spectra["mask"])
        outputs = denoiser.denoise_with_error(*args) if with_error else (denoiser.denoise(*args),)
        elapsed += time.perf_counter() - start
        for name, values in zip(columns, outputs, strict=True):
            values = np.asarray(values)
            if values.shape != batch.spectra["flux"].shape:
                raise ValueError(
                    f"method {method!r} returned {name} of shape {values.shape} for input "
                    f"{batch.spectra['flux'].shape}"
                )
            columns[name].append(values.astype(np.float32))
        ids.append(np.asarray(batch.params["spectrum_id"], dtype=object))
    meta = read_metadata(test_path)
    n = sum(len(i) for i in ids)
    empty = np.zeros((0, meta["wave"].size), np.float32)
    spectra = {k: np.concatenate(v) if v else empty for k, v in columns.items()}
    params = pd.DataFrame(
        {"spectrum_id": np.concatenate(ids) if ids else np.array([], dtype=object)}
    )
    rate = n / elapsed if elapsed > 0 else float("nan")
    units = "normalized (same factor as the test shard's flux)"
    write_shard(
        output,
        params,
        spectra,
        meta["wave"],
        provenance=provenance,
        units={
            **dict.fromkeys(spectra, units),
            "wave": meta.get("units", {}).get("wave", "Angstrom (vacuum)"),
        },
        extra_metadata={
            "method": method,
            "test_shard": os.fspath(test_path),
            "spectra_per_s": rate,
        },
    )
    log.info("%s: %d spectra denoised with %s at %.1f spectra/s", output, n, method, rate)
    return {"n": n, "seconds": elapsed, "spectra_per_s": rate}


def denoise_shards(
    test_paths: Sequence[str | os.PathLike],
    outputs: Sequence[str | os.PathLike],
    denoiser: Method,
    *,
    method: str,
    batch_size: int,
    provenance: Callable[[str], Mapping[str, Any]],
    index: str | os.PathLike | None = None,
) -> None:
    """:func:`denoise_shard` for each (test shard, output) pair, as one job does for several
    chunks (``evaluate.predict_jobs: method``); ``provenance(test_path)`` is each output's
    record. A shard that fails does not stop the others; the failures are raised together.
    ``index``: a JSON file listing the outputs with their records' hashes, written last (what
    the jobs that read every prediction depend on: it changes whenever one of them does)."""
    failed, listed = [], []
    for test_path, output in zip(test_paths, outputs, strict=True):
        record = provenance(os.fspath(test_path))
        try:
            denoise_shard(
                test_path, output, denoiser, method=method, batch_size=batch_size,
                provenance=record,
            )  # fmt: skip
        except Exception as exc:  # reported below, with the others
            log.error("%s: %s", test_path, exc)
            failed.append(f"{test_path}: {exc}")
            continue
        text = json.dumps(record, sort_keys=True, default=str)
        listed.append(
            {"path": os.fspath(output), "record": hashlib.sha256(text.encode()).hexdigest()}
        )
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(outputs)} shards failed: " + "; ".join(failed))
    if index is not None:
        write_text_atomic(index, json.dumps({"method": method, "predictions": listed}, indent=1))
