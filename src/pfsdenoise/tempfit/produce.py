"""Template fits of test shards: the oracle's predictions and fit tables, and the downstream fits.

A **fit table** (Parquet, one row per test spectrum, in the test shard's order) holds, for each
fit, ``status`` (:data:`.fit.STATUSES`, plus ``not_fitted`` outside the configured subset),
``converged`` (status ok), ``at_bound`` (an ok fit on the edge of the grid or the RV
range: the star may lie outside it), ``chi2``, ``dof``, ``n_iter``, ``n_eval``, ``<p>_fit`` and
``<p>_err`` for p in :data:`.forward.PARAMS` and the covariance ``cov_<p>_<q>``; the truth
(``teff`` … ``rv``, ``snr``) where the test shard has it, and for the oracle the Cramér–Rao 1σ at
the truth, ``crb_<p>``. The downstream table of a method holds the fit of its denoised output
(same columns) and, prefixed ``seeded_``, the fit of the noisy input started from that fit.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.evaluate.alignment import check_aligned
from pfsdenoise.evaluate.predictions import (
    for_each_shard,
    write_predictions,
)
from pfsdenoise.shards import ShardError, read_shard, write_shard
from pfsdenoise.tempfit.columns import NOT_FITTED, PARAMS, SEEDED
from pfsdenoise.tempfit.fit import STATUSES, FitResult, TemplateFitter

log = logging.getLogger(__name__)

TRUTH_COLUMNS = (*PARAMS, "snr")


def fit_frame(result: FitResult, prefix: str = "") -> pd.DataFrame:
    """The scalar columns of a fit table for one :class:`FitResult` (module docstring)."""
    cols: dict[str, Any] = {
        "status": result.status.astype(str),
        "converged": result.ok,
        "at_bound": result.at_bound,
        "chi2": result.chi2,
        "dof": result.dof,
        "n_iter": result.n_iter,
        "n_eval": result.n_eval,
    }
    for j, p in enumerate(PARAMS):
        cols[f"{p}_fit"] = result.params[:, j]
        cols[f"{p}_err"] = np.sqrt(result.covariance[:, j, j])
    for j, p in enumerate(PARAMS):
        for k in range(j, len(PARAMS)):
            cols[f"cov_{p}_{PARAMS[k]}"] = result.covariance[:, j, k]
    return pd.DataFrame({prefix + k: v for k, v in cols.items()})


def _subset(n: int, max_spectra: int | None) -> np.ndarray:
    return np.arange(n if max_spectra is None else min(n, int(max_spectra)))


def _expand(result: FitResult, rows: np.ndarray, n: int) -> FitResult:
    """A result for all ``n`` rows: ``rows`` from ``result``, the others not fitted."""

    def grow(a: np.ndarray, fill) -> np.ndarray:
        out = np.full((n, *a.shape[1:]), fill, dtype=a.dtype)
        out[rows] = a
        return out

    return FitResult(
        params=grow(result.params, np.nan),
        covariance=grow(result.covariance, np.nan),
        chi2=grow(result.chi2, np.nan),
        dof=grow(result.dof, 0),
        status=grow(result.status, NOT_FITTED),
        n_iter=grow(result.n_iter, 0),
        n_eval=grow(result.n_eval, 0),
        model=grow(result.model, np.nan),
        model_sigma=grow(result.model_sigma, np.nan),
        at_bound=grow(result.at_bound, False),
    )


def _truth(test) -> pd.DataFrame:
    """The truth columns the test shard has (all rows)."""
    have = [c for c in TRUTH_COLUMNS if c in test.params]
    return test.params[have].reset_index(drop=True)


def _write_table(path, ids, frame: pd.DataFrame, wave, provenance, extra) -> None:
    frame.insert(0, "spectrum_id", ids)
    meta = {"statuses": {**STATUSES, NOT_FITTED: "outside the configured subset"}, **extra}
    write_shard(path, frame, {}, wave, provenance=provenance, extra_metadata=meta)


def _check_wave(test, path, fitter: TemplateFitter) -> None:
    """Raise unless the shard's pixels are the observer's (the forward model's) pixels."""
    pix = fitter.observer.pix_aa
    if test.wave.shape != pix.shape or not np.allclose(test.wave, pix, rtol=0, atol=1e-4):
        raise ShardError(
            f"{path}: {test.wave.size} pixels at {test.wave[0]:.3f}-{test.wave[-1]:.3f} Å, but "
            f"the forward model observes {pix.size} pixels at {pix[0]:.3f}-{pix[-1]:.3f} Å; fit "
            "shards simulated with the same noise table (instrument) and observe config"
        )


def _timed_fit(fitter: TemplateFitter, *args, **kwargs) -> tuple[FitResult, float]:
    start = time.process_time()
    result = fitter.fit(*args, **kwargs)
    return result, time.process_time() - start


def fit_test_shard(
    test_path: str | os.PathLike,
    pred_path: str | os.PathLike,
    fits_path: str | os.PathLike,
    fitter: TemplateFitter,
    *,
    max_spectra: int | None = None,
    threads: int = 1,
    provenance: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Fit the noisy spectra of one test shard with their σ (the oracle) and write its
    prediction shard (best-fit model and its σ̂) and fit table (with the Cramér–Rao bound).

    Only the first ``max_spectra`` spectra are fitted (all when None); the others, and every
    fit that is not ``ok``, get NaN predictions.
    """
    torch.set_num_threads(int(threads))
    test = read_shard(test_path)
    _check_wave(test, test_path, fitter)
    n = len(test)
    rows = _subset(n, max_spectra)
    sp = test.spectra
    args = (sp["flux"][rows], sp["sigma"][rows], sp["mask"][rows])
    result, cpu = _timed_fit(fitter, *args)
    full = _expand(result, rows, n)
    frame = pd.concat([_truth(test), fit_frame(full)], axis=1)
    if "flux_true" in sp and all(p in test.params for p in PARAMS):
        truth = test.params[list(PARAMS)].to_numpy()[rows]
        crb = np.full((n, len(PARAMS)), np.nan)
        crb[rows] = fitter.fisher_bound(truth, sp["flux_true"][rows], *args[1:])
        for j, p in enumerate(PARAMS):
            frame[f"crb_{p}"] = crb[:, j]
    per_spectrum = cpu / max(rows.size, 1)
    ids = np.asarray(test.params["spectrum_id"], dtype=object)
    extra = {"cpu_s_per_spectrum": per_spectrum, "threads": int(threads)}
    write_predictions(
        test_path, pred_path, ids, full.model, full.model_sigma, method="tempfit",
        extra=extra, provenance=provenance,
    )  # fmt: skip
    _write_table(fits_path, ids, frame, test.wave, provenance, extra)
    counts = frame["status"].value_counts().to_dict()
    log.info("%s: %d of %d spectra fitted, %.3f CPU s each; %s", fits_path, rows.size, n,
             per_spectrum, counts)  # fmt: skip
    return frame


def fit_test_shards(
    test_paths: Sequence[str | os.PathLike],
    pred_paths: Sequence[str | os.PathLike],
    fits_paths: Sequence[str | os.PathLike],
    fitter: TemplateFitter,
    *,
    provenance: Callable[[str], Mapping[str, Any]],
    index: str | os.PathLike | None = None,
    **kwargs: Any,
) -> None:
    """:func:`fit_test_shard` for each test shard of a job (one, or every chunk's with
    ``evaluate.predict_jobs: method``), one fitter for all; ``provenance(test_path)`` is each
    shard's record. A shard that fails does not stop the others; the failures are raised
    together. ``index``: the prediction index (:func:`.write_index`), written last (the fit
    tables come from the same job and record, so it stands for them too)."""
    _check_lengths(test_paths, pred_paths, fits_paths)

    def work(test: str, pred: str, fits: str, record: Mapping[str, Any]) -> None:
        fit_test_shard(test, pred, fits, fitter, provenance=record, **kwargs)

    items = list(zip(test_paths, pred_paths, fits_paths, strict=True))
    for_each_shard(items, work, provenance, method="tempfit", index=index)


def _check_lengths(test_paths, pred_paths, outputs) -> None:
    """Raise unless there is one prediction and one output per test shard."""
    if not len(test_paths) == len(pred_paths) == len(outputs):
        raise ValueError(
            f"{len(test_paths)} test shards, {len(pred_paths)} predictions, {len(outputs)} "
            "outputs: one of each per chunk"
        )


def fit_method_shard(
    test_path: str | os.PathLike,
    pred_path: str | os.PathLike,
    output: str | os.PathLike,
    fitter: TemplateFitter,
    *,
    sigma_source: str,
    max_spectra: int | None = None,
    threads: int = 1,
    provenance: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Downstream fits of one method on one test shard (docs/evaluation.md, "Downstream").

    1. The method's denoised spectra, with the input mask and, for ``sigma_source="provided"``,
       the method's own σ̂ where its prediction shard has one (the input σ otherwise, and always
       for ``"input"``).
    2. The noisy input with its σ, started from the parameters of fit 1 (no scan): does the
       denoised spectrum give the fit of the data a better start?
    """
    if sigma_source not in ("provided", "input"):
        raise ValueError(f"tempfit.downstream.sigma = {sigma_source!r}; use provided or input")
    torch.set_num_threads(int(threads))
    test = read_shard(test_path)
    _check_wave(test, test_path, fitter)
    pred = read_shard(pred_path)
    check_aligned(test, pred, test_path, pred_path)
    if DENOISED_COLUMN not in pred.spectra:
        raise ShardError(f"{pred_path}: prediction shard has no {DENOISED_COLUMN!r} column")
    n = len(test)
    rows = _subset(n, max_spectra)
    sp = test.spectra
    use_own = sigma_source == "provided" and DENOISED_ERR_COLUMN in pred.spectra
    sigma = pred.spectra[DENOISED_ERR_COLUMN] if use_own else sp["sigma"]
    den, cpu_den = _timed_fit(
        fitter, pred.spectra[DENOISED_COLUMN][rows], sigma[rows], sp["mask"][rows]
    )
    seeded, cpu_seeded = _timed_fit(
        fitter, sp["flux"][rows], sp["sigma"][rows], sp["mask"][rows], start=den.params
    )
    frame = pd.concat(
        [
            _truth(test),
            fit_frame(_expand(den, rows, n)),
            fit_frame(_expand(seeded, rows, n), prefix=SEEDED),
        ],
        axis=1,
    )
    ids = np.asarray(test.params["spectrum_id"], dtype=object)
    extra = {
        "method": pred.metadata.get("method"),
        "sigma": "method's sigma_denoised" if use_own else "input sigma",
        "cpu_s_per_spectrum": cpu_den / max(rows.size, 1),
        "seeded_cpu_s_per_spectrum": cpu_seeded / max(rows.size, 1),
    }
    _write_table(output, ids, frame, test.wave, provenance, extra)
    return frame


def fit_method_shards(
    test_paths: Sequence[str | os.PathLike],
    pred_paths: Sequence[str | os.PathLike],
    outputs: Sequence[str | os.PathLike],
    fitter: TemplateFitter,
    *,
    method: str,
    provenance: Mapping[str, Any],
    index: str | os.PathLike,
    **kwargs: Any,
) -> None:
    """:func:`fit_method_shard` over paired test shards, predictions and outputs (one fitter,
    built once, for all chunks of a method), then the index of the outputs (what the
    downstream table depends on: one file, not one per chunk). A chunk that fails does not stop
    the others; the failures are raised together and no index is written then
    (:func:`.for_each_shard`)."""
    _check_lengths(test_paths, pred_paths, outputs)

    def work(test, out, pred, record):
        fit_method_shard(test, pred, out, fitter, provenance=record, **kwargs)

    items = list(zip(test_paths, outputs, pred_paths, strict=True))
    for_each_shard(items, work, lambda _: provenance, method=method, index=index, kind="fits")
