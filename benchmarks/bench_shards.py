"""Shard write/read throughput against a raw numpy save/load of the same arrays, in one run.

    python benchmarks/bench_shards.py [--rows 2000] [--repeat 3]

Prints spectra/s and MB/s (of in-memory float32/bool data) for each path and the ratio to numpy.
A plain pyarrow read of the same file (no page-checksum verification, no content checksums)
shows what the integrity checks of ``read_shard`` cost.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pfsdenoise.shards import iter_shard_batches, read_shard, write_shard

N_PIX = 4096


def make_data(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Realistic content: smooth continuum with lines, Gaussian noise, a few masked pixels."""
    x = np.linspace(0, 1, N_PIX, dtype=np.float32)
    centres = rng.uniform(0, 1, (n, 40))
    truth = 1 - 0.3 * np.exp(-(((x[None, None, :] - centres[:, :, None]) / 2e-4) ** 2)).sum(1)
    truth = truth.astype(np.float32)
    sigma = (0.02 + 0.01 * rng.random((n, 1))).astype(np.float32) * np.ones_like(truth)
    spectra = {
        "flux": truth + sigma * rng.standard_normal(truth.shape, dtype=np.float32),
        "flux_true": truth,
        "sigma": sigma,
        "mask": rng.random(truth.shape) < 0.01,
    }
    params = pd.DataFrame({"teff": rng.uniform(3500, 7500, n), "snr": rng.uniform(5, 100, n)})
    return params, spectra


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    params, spectra = make_data(args.rows, rng)
    wave = np.linspace(7100, 8850, N_PIX)
    nbytes = sum(a.nbytes for a in spectra.values())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def np_write():
            np.savez(tmp / "ref.npz", **spectra)

        def np_read():
            with np.load(tmp / "ref.npz") as z:
                return {k: z[k] for k in z.files}

        rows = []
        rows.append(("numpy savez (reference)", best_of(args.repeat, np_write), "write"))
        rows.append(("numpy load (reference)", best_of(args.repeat, np_read), "read"))
        for compression in ("none", "zstd"):
            path = tmp / f"s_{compression}.parquet"

            def write(path=path, compression=compression):
                write_shard(path, params, spectra, wave, compression=compression)

            rows.append((f"write_shard {compression}", best_of(args.repeat, write), "write"))
            rows.append(
                (
                    f"read_shard {compression}",
                    best_of(args.repeat, lambda p=path: read_shard(p)),
                    "read",
                )
            )
            rows.append(
                (
                    f"pyarrow read, unchecked {compression}",
                    best_of(args.repeat, lambda p=path: pq.read_table(p)),
                    "read",
                )
            )
            rows.append(
                (
                    f"iter_shard_batches {compression}",
                    best_of(
                        args.repeat, lambda p=path: sum(len(b) for b in iter_shard_batches([p]))
                    ),
                    "read",
                )
            )
            size = path.stat().st_size / 1e6
            print(f"# {compression}: {size:.1f} MB on disk for {nbytes / 1e6:.1f} MB in memory")
    ref = {kind: t for name, t, kind in rows if "reference" in name}
    print(f"{'path':<30} {'spectra/s':>10} {'MB/s':>8} {'vs numpy':>9}")
    for name, t, kind in rows:
        print(f"{name:<30} {args.rows / t:>10.0f} {nbytes / 1e6 / t:>8.0f} {ref[kind] / t:>9.2f}")


if __name__ == "__main__":
    main()
