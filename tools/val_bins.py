"""Validation error per S/N bin of trained models beside the tuned baselines (ablations).

    python tools/val_bins.py results/models/*/model.pt [--val results/shards/val/*.parquet]
        [--baselines identity gauss pca] [--edges 0.5 2 5 10 20 40 80 1000]

Prints, per bin of the shards' `snr` column, the mean over spectra of the per-spectrum mean
relative error (the comparison table's statistic, in %) of each model and baseline on the
validation shards (the fixed stored noise realizations), the best baseline, each model's
ratio to it, and, for a model with σ̂, the coverage |x̂ − x| < σ̂ (%). Baselines read their
tuned parameters from results/baselines/<name>/params.json (tuned on these same validation
spectra, so the baselines' numbers are slightly optimistic here). For ablations only: the
evaluation proper runs on the test shards through the workflow.
"""

from __future__ import annotations

import argparse
import glob
import itertools
from pathlib import Path

import numpy as np

from pfsdenoise.denoise.model import load_model
from pfsdenoise.evaluate.baselines import TUNABLE
from pfsdenoise.evaluate.metrics import mean_relative_error, valid_pixels
from pfsdenoise.evaluate.predict import baseline_denoiser
from pfsdenoise.shards import read_shard


def baseline(name: str):
    params = Path(f"results/baselines/{name}/params.json")
    basis = Path("results/baselines/pca/basis.npz") if name == "pca" else None
    return baseline_denoiser(name, params if name in TUNABLE else None, basis)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="model files")
    ap.add_argument("--val", nargs="*", default=sorted(glob.glob("results/shards/val/*.parquet")))
    ap.add_argument("--baselines", nargs="*", default=["identity", "gauss", "pca"])
    ap.add_argument("--edges", nargs="*", type=float, default=[0.5, 2, 5, 10, 20, 40, 80, 1000])
    ap.add_argument("--min-truth", type=float, default=0.01)
    args = ap.parse_args()

    shards = [read_shard(p) for p in args.val]
    flux = np.concatenate([s.spectra["flux"] for s in shards])
    sigma = np.concatenate([s.spectra["sigma"] for s in shards])
    mask = np.concatenate([s.spectra["mask"] for s in shards])
    truth = np.concatenate([s.spectra["flux_true"] for s in shards])
    snr = np.concatenate([s.params["snr"].to_numpy() for s in shards])
    valid = valid_pixels(truth, sigma, mask, args.min_truth)

    errors: dict[str, np.ndarray] = {}
    coverage: dict[str, np.ndarray] = {}
    for name in args.baselines:
        errors[name] = mean_relative_error(
            baseline(name).denoise(flux, sigma, mask), truth, sigma, mask, args.min_truth
        )
    for path in args.models:
        model = load_model(path, "cpu")
        name = Path(path).parent.name
        if model.has_error:
            pred, sig_hat = model.denoise_with_error(flux, sigma, mask)
            inside = np.where(valid, np.abs(pred - truth) < sig_hat, np.nan)
            coverage[name] = np.nanmean(inside, axis=1)
        else:
            pred = model.denoise(flux, sigma, mask)
        errors[name] = mean_relative_error(pred, truth, sigma, mask, args.min_truth)

    models = [Path(p).parent.name for p in args.models]
    head = ["S/N", "N", *errors, "best baseline", *(f"{m}/best" for m in models)]
    head += [f"{m} cov." for m in coverage]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    edges = args.edges
    bins = [(lo, hi) for lo, hi in itertools.pairwise(edges)] + [(edges[0], edges[-1])]
    for lo, hi in bins:
        sel = (snr >= lo) & (snr < hi)
        if not sel.any():
            continue
        means = {k: 100 * np.nanmean(v[sel]) for k, v in errors.items()}
        best = min(args.baselines, key=lambda b: means[b]) if args.baselines else None
        row = [f"{lo:g}-{hi:g}" if (lo, hi) != (edges[0], edges[-1]) else "all", str(sel.sum())]
        row += [f"{means[k]:.3g}" for k in errors]
        row += [best or ""] + [f"{means[m] / means[best]:.3f}" if best else "" for m in models]
        row += [f"{100 * np.nanmean(v[sel]):.1f}" for v in coverage.values()]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
