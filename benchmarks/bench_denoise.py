"""Denoised spectra per second of every classical baseline (and of a trained model when given),
against a raw numpy pass and the identity baseline measured in the same run.

    python benchmarks/bench_denoise.py --n 512 [--model results/models/unet/model.pt]

Data: stand-in spectra (pfsdenoise.learn.testdata, 4096 px). Baselines run with fixed,
representative parameters (the per-S/N-bin choice only selects among such calls). CPU time of
this process (one thread), so other jobs on the machine do not count; a model on a GPU is timed
by the wall clock instead (the process's CPU time there is mostly waiting for the device).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from pfsdenoise.evaluate.baselines import baseline_function
from pfsdenoise.evaluate.baselines.pca import fit_pca
from pfsdenoise.evaluate.metrics import mean_relative_error
from pfsdenoise.learn.testdata import toy_spectra

SETTINGS = {
    "identity": {},
    "savgol": {"window": 15, "order": 2},
    "gauss": {"width": 2.0},
    "wavelet": {"factor": 0.5, "wavelet_name": "sym8", "level": 7},
    "pca": {"n_components": 64},
}


def rate(
    func: Callable[[], object], n: int, repeat: int, clock: Callable[[], float] = time.process_time
) -> float:
    """Best spectra per second of ``clock`` (default: CPU time) over ``repeat`` runs."""
    best = np.inf
    for _ in range(repeat):
        start = clock()
        func()
        best = min(best, clock() - start)
    return n / max(best, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="test spectra")
    parser.add_argument("--n-train", type=int, default=1000, help="clean spectra for the PCA fit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", action="append", default=[], help="model.pt (repeatable)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    data = toy_spectra(args.n, rng)
    train = toy_spectra(args.n_train, rng)["flux_true"]
    flux, sigma, mask, truth = data["flux"], data["sigma"], data["mask"], data["flux_true"]
    start = time.process_time()
    basis = fit_pca([train], max(SETTINGS["pca"]["n_components"], 1))
    fit_s = time.process_time() - start

    ref = rate(
        lambda: flux.astype(np.float64) * 1.0 + sigma.astype(np.float64), args.n, args.repeat
    )
    rows = [("raw numpy pass (reference)", ref, np.nan)]
    for name, kw in SETTINGS.items():
        func = baseline_function(name, basis)
        out = func(flux, sigma, mask, **kw)
        err = np.nanmean(mean_relative_error(out, truth, sigma, mask, 0.01))
        rows.append(
            (name, rate(lambda f=func, k=kw: f(flux, sigma, mask, **k), args.n, args.repeat), err)
        )
    for path in args.model:
        import torch

        from pfsdenoise.denoise.model import load_model

        torch.set_num_threads(1)
        den = load_model(path)
        out = den.denoise(flux, sigma, mask)
        err = np.nanmean(mean_relative_error(out, truth, sigma, mask, 0.01))
        gpu = den.device.type == "cuda"
        clock = time.perf_counter if gpu else time.process_time
        rows.append(
            (
                f"model {path} ({den.device.type}{', wall clock' if gpu else ''})",
                rate(lambda d=den: d.denoise(flux, sigma, mask), args.n, args.repeat, clock),
                err,
            )
        )

    print(
        f"{args.n} spectra × 4096 px, PCA basis fit on {args.n_train} clean spectra: {fit_s:.2f} CPU s"
    )
    print("| method | spectra/s | vs raw numpy | vs identity | mean rel. error |")
    print("| --- | ---: | ---: | ---: | ---: |")
    ident = rows[1][1]
    for name, r, err in rows:
        e = "—" if not np.isfinite(err) else f"{100 * err:.2f} %"
        print(f"| {name} | {r:.0f} | {r / ref:.3f} | {r / ident:.3f} | {e} |")


if __name__ == "__main__":
    main()
