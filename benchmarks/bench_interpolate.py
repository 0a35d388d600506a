"""Grid interpolation throughput on one core: pfsdenoise.grid.interpolate against references.

    python benchmarks/bench_interpolate.py [--grid results/grid/demo] [--n 2000]

Measures, in one run on the same memory-mapped grid (the demo grid if built, else a random
grid of the demo's shape at R = 50000 over 6600-9050 A): the sparse-weights multilinear
interpolation, the authors' spline mode, a straightforward numpy 16-corner gather, and
scipy's RegularGridInterpolator on the same flux array. Prints spectra/s and ratios.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.interpolate import RegularGridInterpolator  # noqa: E402

from pfsdenoise.grid.interpolate import complete_cells, interpolate, interpolate_spline  # noqa: E402
from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid  # noqa: E402

DEMO_AXES = {
    "teff": np.arange(3000.0, 7501.0, 500.0),
    "logg": np.arange(0.0, 5.1, 1.0),
    "mh": np.array([-2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 0.75]),
    "alpha": np.array([-0.25, 0.5]),
}


def random_grid(folder: Path):
    wave = log_uniform_wave(6600.0, 9050.0, 1e-5)
    shape = tuple(len(v) for v in DEMO_AXES.values())
    rng = np.random.default_rng(0)
    flux = rng.uniform(1.0, 2.0, (*shape, len(wave))).astype(np.float32)
    write_grid(folder, DEMO_AXES, wave, flux, source="benchmark")
    return open_grid(folder)


def naive_gather(grid, params):
    """Reference: per axis searchsorted, then 16 fancy-index gathers with weights."""
    cells = []
    for d, a in enumerate(grid.axis_names):
        ax = grid.axes[a]
        lo = np.clip(np.searchsorted(ax, params[:, d], side="right") - 1, 0, len(ax) - 2)
        cells.append((lo, (params[:, d] - ax[lo]) / (ax[lo + 1] - ax[lo])))
    out = np.zeros((len(params), grid.n_wave), dtype=np.float32)
    for corner in range(16):
        idx, w = [], np.ones(len(params))
        for d, (lo, t) in enumerate(cells):
            up = (corner >> d) & 1
            idx.append(lo + up)
            w = w * (t if up else 1 - t)
        out += (w[:, None] * grid.flux[tuple(idx)]).astype(np.float32)
    return out


def rate(func, n, repeat=2):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="results/grid/demo")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-ref", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if (Path(args.grid) / "grid.json").exists():
            grid = open_grid(args.grid)
        else:
            grid = random_grid(Path(tmp) / "grid")
        np.asarray(grid.flux).sum()  # warm the page cache: all methods read from memory
        rng = np.random.default_rng(1)
        lo = np.array([grid.axes[a][0] for a in grid.axis_names])
        hi = np.array([grid.axes[a][-1] for a in grid.axis_names])
        params = lo + (hi - lo) * rng.random((4 * args.n, 4))
        params = params[complete_cells(grid, params)][: args.n]
        n, n_ref = len(params), min(args.n_ref, len(params))
        print(
            f"grid {grid.path}: shape {grid.shape}, {grid.n_wave} wavelengths, "
            f"{grid.flux.nbytes / 1e6:.0f} MB; {n} samples"
        )
        rgi = RegularGridInterpolator(tuple(grid.axes.values()), np.asarray(grid.flux))
        results = {
            "scipy RegularGridInterpolator (reference)": rate(lambda: rgi(params[:n_ref]), n_ref),
            "numpy 16-corner gather": rate(lambda: naive_gather(grid, params[:n_ref]), n_ref),
            "pfsdenoise interpolate (multilinear)": rate(lambda: interpolate(grid, params), n),
            "pfsdenoise interpolate_spline": rate(
                lambda: interpolate_spline(grid, params, np.random.default_rng(2)), n
            ),
        }
        ref = next(iter(results.values()))
        print(f"{'method':45s} {'spectra/s':>10s} {'vs scipy':>9s}")
        for name, r in results.items():
            print(f"{name:45s} {r:10.0f} {r / ref:9.1f}")
        got = interpolate(grid, params[:n_ref])
        print(
            "max |pfsdenoise - scipy| / flux:",
            float(np.max(np.abs(got - rgi(params[:n_ref])) / np.abs(got))),
        )


if __name__ == "__main__":
    main()
