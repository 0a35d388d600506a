"""Template-fit cost per spectrum, against one network forward pass and one forward-model
evaluation measured in the same run.

    python benchmarks/bench_tempfit.py [--n 64] [--model results/models/resunet/model.pt]
                                       [--device cpu|cuda]

Needs the default run's grid, noise table and a test shard (``snakemake --cores 2``). Times:
the blind fit (FFT velocity scan + node scan + Levenberg–Marquardt from the best starts), its
scan alone, a fit started at the blind fit's optimum (the optimizer alone: what a good start
saves), one evaluation of the forward model with its Jacobian, the simulator's own
interpolation + noiseless observation of one spectrum, and the network's forward pass. On the
CPU: CPU seconds of this process with one thread, so other jobs on the machine do not count;
on a GPU: the wall clock (the process's CPU time there is mostly waiting).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from pfsdenoise.configuration import validate_config  # noqa: E402
from pfsdenoise.grid.interpolate import interpolate  # noqa: E402
from pfsdenoise.shards import read_shard  # noqa: E402
from pfsdenoise.tempfit.fit import FitSettings, TemplateFitter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def seconds(func: Callable[[], object], clock: Callable[[], float], repeat: int = 1) -> float:
    """Best time of ``repeat`` calls (after one warm-up call)."""
    func()
    best = np.inf
    for _ in range(repeat):
        start = clock()
        func()
        best = min(best, clock() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="test spectra fitted")
    ap.add_argument("--shard", default="results/shards/test/warm.parquet")
    ap.add_argument("--grid", default="results/grid/demo")
    ap.add_argument("--noise", default="results/noise/mr/noise_table.npz")
    ap.add_argument("--model", default="results/models/resunet/model.pt")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate_config(cfg, ROOT / "workflow/schemas/config.schema.yaml")
    settings = FitSettings.from_config({**cfg["tempfit"], "device": args.device})
    gpu = args.device.startswith("cuda")
    clock = time.perf_counter if gpu else time.process_time
    sync = torch.cuda.synchronize if gpu else (lambda: None)

    start = clock()
    fitter = TemplateFitter.from_files(args.grid, args.noise, cfg["observe"], settings)
    setup = clock() - start
    test = read_shard(args.shard)
    n = min(args.n, len(test))
    flux, sigma, mask = (test.spectra[k][:n] for k in ("flux", "sigma", "mask"))
    result = fitter.fit(flux, sigma, mask)

    def timed(func: Callable[[], object]) -> float:
        def run():
            func()
            sync()

        return seconds(run, clock) / n

    t_fit = timed(lambda: fitter.fit(flux, sigma, mask))
    y, w = fitter.tensors(flux, sigma, mask)
    t_scan = timed(lambda: fitter.scanner.starts(y, w))
    t_seeded = timed(lambda: fitter.fit(flux, sigma, mask, start=result.params))
    params = np.nan_to_num(result.params, nan=0.0)
    params[~result.ok] = fitter.scanner.starts(y, w)[~result.ok, 0]
    t_model = timed(lambda: fitter.model(params))
    stellar = params[:, :4]
    observer = fitter.observer
    t_sim = timed(
        lambda: observer.noiseless(
            interpolate(fitter.model.grid, stellar), params[:, 4], np.zeros(n), np.full(n, 20.0)
        )
    )
    rows = [
        ("tempfit, blind fit (scan + optimizer)", t_fit),
        ("  scan alone (velocity FFT + node scan)", t_scan),
        ("tempfit, fit started at the optimum (optimizer alone)", t_seeded),
        ("forward model + Jacobian, one evaluation", t_model),
        ("simulator: interpolate + noiseless observation (reference)", t_sim),
    ]
    if Path(args.model).exists():
        from pfsdenoise.denoise.model import load_model

        net = load_model(args.model, device=args.device)
        rows.append((f"network forward pass, {args.model} (reference)", timed(
            lambda: net.denoise(flux, sigma, mask)
        )))  # fmt: skip
    print(f"{n} spectra of {args.shard}, grid {args.grid}, device {args.device}, "
          f"{'wall clock' if gpu else 'CPU time, 1 thread'}; fitter setup {setup:.2f} s; "
          f"{int(result.ok.sum())}/{n} fits ok, {result.n_iter[result.ok].mean():.1f} "
          "iterations on average")  # fmt: skip
    print("| step | s / spectrum | / simulator | / network |")
    print("| --- | ---: | ---: | ---: |")
    sim = t_sim
    net_t = rows[-1][1] if len(rows) > 5 else np.nan
    for name, t in rows:
        print(f"| {name} | {t:.4f} | {t / sim:.1f} | {t / net_t:.1f} |")


if __name__ == "__main__":
    main()
