"""Training throughput: the data loader alone and one training step per model, in one run.

    python benchmarks/bench_train.py [--rows 512] [--steps 6] [--threads 1] [--config config.yaml]
    python benchmarks/bench_train.py --config config.yaml config/paper.yaml   # merged, as --configfile

Reference: reading the same shard columns with ``iter_shard_batches`` (no augmentation). Prints
spectra/s for the raw read, the augmented loader (fresh noise + calibration distortion + mask
fill) and a full optimizer step of every model in the config's ``train.models`` (at its own batch
size, the loader's batches as input, prepared ahead by ``train.loader_workers`` threads as in
training), with ratios: loader / raw read, and loader / training (the
loader's headroom: > 1 means it can keep that model busy from one core).
Stand-in spectra (pfsdenoise.learn.testdata) on the 4096-pixel MR grid; CUDA is used when present.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from pfsdenoise.configuration import load_config
from pfsdenoise.learn.checkpoint import pick_device
from pfsdenoise.learn.data import Augmentation, open_shards, training_batches
from pfsdenoise.learn.epoch import masked_mse
from pfsdenoise.learn.models import build_model, count_parameters
from pfsdenoise.learn.optim import make_optimizer
from pfsdenoise.learn.testdata import write_toy_shard
from pfsdenoise.seeding import make_rng
from pfsdenoise.shards import iter_shard_batches


def raw_read(paths: list[str]) -> float:
    t0 = time.perf_counter()
    n = sum(
        len(b)
        for b in iter_shard_batches(
            paths, 256, columns=("spectrum_id", "flux_true", "sigma", "mask")
        )
    )
    return n / (time.perf_counter() - t0)


def loader(shards, augment: Augmentation, batch_size: int, workers: int) -> float:
    t0 = time.perf_counter()
    batches = training_batches(shards, batch_size, make_rng(0, "bench"), augment, workers=workers)
    n = sum(len(b) for b in batches)
    return n / (time.perf_counter() - t0)


def train_steps(
    name: str, spec: dict, shards, augment: Augmentation, steps: int, device, workers: int
) -> tuple[float, int]:
    torch.manual_seed(0)
    model = build_model(spec["arch"], shards.wave.size, spec["hyper"]).to(device).train()
    opt = make_optimizer(model, spec["optimizer"])
    amp = bool(spec["amp"]) and device.type == "cuda"
    batches = training_batches(
        shards, int(spec["batch_size"]), make_rng(0, name), augment, workers=workers
    )
    n = 0
    t0 = None
    for i, b in enumerate(batches):
        if i == 1:  # first step warms up allocators and kernels
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, n = time.perf_counter(), 0
        if i > steps:
            break
        x = [torch.from_numpy(a).to(device) for a in (b.flux, b.sigma, b.mask, b.target, b.weight)]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model(x[0], x[1], x[2])
        loss = masked_mse(pred.float(), x[3], x[4])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(b)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0), count_parameters(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=512, help="stand-in spectra in the shards")
    ap.add_argument("--steps", type=int, default=6, help="timed optimizer steps per model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--config", nargs="+", default=["config.yaml"], help="config files, later ones override"
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, help="loader threads (default: the config's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)  # as Snakemake's --configfile, validated like the workflow
    train = cfg["train"]
    augment = Augmentation(**train["augment"])
    device = pick_device(args.device)
    workers = train["loader_workers"] if args.workers is None else args.workers
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            str(write_toy_shard(Path(tmp) / f"{k}.parquet", args.rows // 2, k)) for k in range(2)
        ]
        shards = open_shards(paths)
        ref = raw_read(paths)
        load1 = loader(shards, augment, 32, 0)
        load = loader(shards, augment, 32, workers)
        print(
            f"device {device}, {args.threads} thread(s), {args.rows} spectra x {shards.wave.size} px,"
            f" {workers} loader workers"
        )
        print(f"{'path':<34} {'spectra/s':>10} {'ratio':>8}")
        print(f"{'raw shard read (reference)':<34} {ref:>10.0f} {1.0:>8.2f}")
        print(f"{'augmented loader, 1 thread':<34} {load1:>10.0f} {load1 / ref:>8.2f}")
        print(f"{f'augmented loader, {workers} workers':<34} {load:>10.0f} {load / ref:>8.2f}")
        for name, spec in train["models"].items():
            rate, n_par = train_steps(name, spec, shards, augment, args.steps, device, workers)
            label = f"train {name} ({n_par / 1e6:.2f} M, b{spec['batch_size']})"
            print(
                f"{label:<34} {rate:>10.1f} {rate / ref:>8.4f}   loader headroom x{load / rate:.0f}"
            )


if __name__ == "__main__":
    main()
