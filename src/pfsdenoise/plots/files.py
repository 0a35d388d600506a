"""File-level figure steps for the workflow: read the inputs, draw, save PNG + PDF + sidecars.

Each function takes the input paths, the output paths, the ``plots`` options and the provenance
record the figures carry, so a rule's script is one call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pfsdenoise.constants import DENOISED_COLUMN
from pfsdenoise.evaluate.binning import read_errbins
from pfsdenoise.plots import FIG1_PARAMS
from pfsdenoise.plots.errors import fig1, ratio_vs_snr
from pfsdenoise.plots.examples import example_spectra, pick_examples
from pfsdenoise.plots.style import save_figure
from pfsdenoise.plots.training import training_curves
from pfsdenoise.shards import read_shard

Paths = Sequence[str | os.PathLike]


def fig1_files(
    bin_paths: Mapping[str, Mapping[str, str]],
    outputs: Paths,
    *,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> None:
    """The paper's Fig. 1 from ``bin_paths[method][param]`` (params: S/N, Teff, log g, [M/H])."""
    bins = {m: {p: read_errbins(bin_paths[m][p]) for p in FIG1_PARAMS} for m in bin_paths}
    fig = fig1(
        bins,
        statistic=options["statistic"],
        intervals=options["intervals"],
        log_error=options["log_error"],
        show_noisy=options["show_noisy"],
        width=options["width"],
    )
    save_figure(fig, outputs, provenance=provenance, dpi=options["dpi"])


def ratio_files(
    bin_paths: Mapping[str, str],
    outputs: Paths,
    *,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> None:
    """Error ratio to the noisy input vs S/N, one curve per method."""
    bins = {m: read_errbins(p) for m, p in bin_paths.items()}
    fig = ratio_vs_snr(
        bins,
        statistic=options["statistic"],
        intervals=options["intervals"],
        width=options["width"] * 0.8,
    )
    save_figure(fig, outputs, provenance=provenance, dpi=options["dpi"])


def examples_files(
    errors_path: str,
    test_paths: Paths,
    pred_paths: Paths,
    outputs: Paths,
    *,
    method: str,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> None:
    """Example spectra at the configured S/N quantiles of one method's test set."""
    errors = read_shard(errors_path).params
    ids = pick_examples(errors, options["example_quantiles"])
    rows: dict[str, dict[str, np.ndarray]] = {}
    wave = None
    for test_path, pred_path in zip(test_paths, pred_paths, strict=True):
        test = read_shard(
            test_path, columns=["spectrum_id", "snr", "rv", "flux", "flux_true", "mask"]
        )
        pred = read_shard(pred_path, columns=["spectrum_id", DENOISED_COLUMN])
        if not np.array_equal(
            test.params["spectrum_id"].to_numpy(), pred.params["spectrum_id"].to_numpy()
        ):
            raise ValueError(
                f"{pred_path}: spectrum ids differ from {test_path}; rerun its denoise rule"
            )
        wave = test.wave
        where = pd.Index(test.params["spectrum_id"])
        for sid in ids:
            if sid in where and sid not in rows:
                i = where.get_loc(sid)
                rows[sid] = {k: v[i] for k, v in test.spectra.items()}
                rows[sid][DENOISED_COLUMN] = pred.spectra[DENOISED_COLUMN][i]
                rows[sid]["snr"] = float(test.params["snr"].iloc[i])
                rows[sid]["rv"] = float(test.params["rv"].iloc[i])
    missing = [s for s in ids if s not in rows]
    if missing or wave is None:
        raise ValueError(f"example spectra {missing} are not in the test shards {list(test_paths)}")
    picked = [rows[s] for s in ids]
    labels = [f"S/N quantile {q:g}" for q in options["example_quantiles"]]
    fig = example_spectra(
        wave,
        np.stack([r["flux"] for r in picked]),
        np.stack([r[DENOISED_COLUMN] for r in picked]),
        np.stack([r["flux_true"] for r in picked]),
        np.stack([r["mask"] for r in picked]),
        snr=[r["snr"] for r in picked],
        rv=[r["rv"] for r in picked],
        labels=labels,
        method=method,
        zoom=tuple(options["ca2_zoom"]),
        width=options["width"] * 1.2,
    )
    save_figure(fig, outputs, provenance=provenance, dpi=options["dpi"])


def training_files(
    history_path: str,
    outputs: Paths,
    *,
    model: str,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> None:
    """Training curves of one model."""
    fig = training_curves(pd.read_csv(history_path), model=model, width=options["width"] * 0.8)
    save_figure(fig, outputs, provenance=provenance, dpi=options["dpi"])
