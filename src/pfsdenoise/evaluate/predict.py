"""Denoise a test shard with one method and write the prediction shard.

A prediction shard has the test shard's ``spectrum_id`` column in the same order, the spectral
column ``flux_denoised`` and the same wavelength grid; :mod:`.alignment` checks all three. A
method that gives an uncertainty (``has_error``) adds the column ``sigma_denoised``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from pfsdenoise.evaluate.baselines import TUNABLE, baseline_function
from pfsdenoise.evaluate.baselines.pca import load_basis
from pfsdenoise.evaluate.predictions import for_each_shard, write_predictions
from pfsdenoise.evaluate.tuning import TunedBaseline, TunedParams, load_params
from pfsdenoise.shards import iter_shard_batches

log = logging.getLogger(__name__)

INPUT_COLUMNS = ("spectrum_id", "flux", "sigma", "mask")


class Method(Protocol):
    """A denoising method on normalized arrays: a trained model, a baseline, a template fit.

    One that also gives a per-pixel 1σ sets ``has_error = True`` and has
    ``denoise_with_error(flux, sigma, mask) -> (flux_hat, sigma_hat)`` (TEAM.md contract).
    """

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
    """Denoise every spectrum of ``test_path`` in batches; write ``output``; return timing.

    A ``denoiser`` with ``has_error`` True is called through ``denoise_with_error`` and its σ̂
    is written too.
    """
    with_error = bool(getattr(denoiser, "has_error", False))
    ids: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    errs: list[np.ndarray] = []
    elapsed = 0.0
    for batch in iter_shard_batches([test_path], batch_size=batch_size, columns=INPUT_COLUMNS):
        args = (batch.spectra["flux"], batch.spectra["sigma"], batch.spectra["mask"])
        start = time.perf_counter()
        if with_error:
            pred, err = (np.asarray(a) for a in denoiser.denoise_with_error(*args))
        else:
            pred, err = np.asarray(denoiser.denoise(*args)), None
        elapsed += time.perf_counter() - start
        for name, values in (("flux", pred), ("sigma", err)):
            if values is not None and values.shape != args[0].shape:
                raise ValueError(
                    f"method {method!r} returned {name} of shape {values.shape} for input "
                    f"{args[0].shape}"
                )
        ids.append(np.asarray(batch.params["spectrum_id"], dtype=object))
        preds.append(pred.astype(np.float32))
        if err is not None:
            errs.append(err.astype(np.float32))
    n = sum(len(i) for i in ids)
    rate = n / elapsed if elapsed > 0 else float("nan")
    write_predictions(
        test_path,
        output,
        np.concatenate(ids) if ids else np.array([], dtype=object),
        np.concatenate(preds) if preds else None,
        (np.concatenate(errs) if errs else None) if with_error else None,
        method=method,
        extra={"spectra_per_s": rate},
        provenance=provenance,
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

    def work(test_path: str, output: str, record: Mapping[str, Any]) -> None:
        denoise_shard(
            test_path, output, denoiser, method=method, batch_size=batch_size, provenance=record
        )

    for_each_shard(
        list(zip(test_paths, outputs, strict=True)), work, provenance, method=method, index=index
    )
