"""Training throughput and utilisation: the data paths and one training step per model, one run.

    python benchmarks/bench_train.py [--rows 512] [--steps 6] [--threads 1] [--config config.yaml]
    python benchmarks/bench_train.py --config config.yaml config/paper.yaml   # merged, as --configfile
    python benchmarks/bench_train.py --bf16 --compile        # variants of each model's step
    python benchmarks/bench_train.py --grid-source           # + spectra made from a grid

Data paths (spectra/s), against the reference of reading the same shard columns with
``iter_shard_batches``: the CPU augmentation (numpy, in the loader threads) and the device
augmentation (torch on the training device, ``train.augment.where: device``) on the cached
training set, and with ``--grid-source`` the grid source (``train.data.source: grid``) on a
synthetic grid. Then a full optimizer step of every model in the config's ``train.models``
(its batch size, device-augmented batches as input), its FLOPs per spectrum (forward + backward,
``torch.utils.flop_counter.FlopCounterMode``) and the model FLOP utilisation: achieved FLOP/s over
the device's peak. The peak is the datasheet's dense figure by device name (or ``--peak-tflops``);
on a CPU, without a datasheet figure, a float32 (or bf16) matrix product measured in the same run
stands in for it. The last line is the data path's headroom: device loader / fastest model step.
Stand-in spectra (pfsdenoise.learn.testdata) on the 4096-pixel MR grid; CUDA is used when present.
Times: wall clock on a GPU (synchronized); on a CPU the CPU seconds of this process
(time.process_time), so that other jobs on the machine do not inflate them: with several threads
a rate is then per CPU-second, i.e. per core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from pfsdenoise.configuration import load_config
from pfsdenoise.learn.checkpoint import pick_device
from pfsdenoise.learn.data import Augmentation, LoaderClock, open_shards, training_batches
from pfsdenoise.learn.epoch import masked_mse, to_device
from pfsdenoise.learn.models import build_model, count_parameters
from pfsdenoise.learn.optim import make_optimizer
from pfsdenoise.learn.testdata import write_toy_shard
from pfsdenoise.seeding import make_rng
from pfsdenoise.shards import iter_shard_batches

# Dense (no sparsity) peak TFLOP/s from the NVIDIA datasheets: {name fragment: (bf16, tf32)}.
PEAK_TFLOPS = {
    "H100 SXM": (989.4, 494.7),
    "H100 80GB HBM3": (989.4, 494.7),
    "H100 PCIe": (756.0, 378.0),
    "H100 NVL": (835.0, 417.5),
    "H200": (989.4, 494.7),
    "A100": (312.0, 156.0),
}


def raw_read(paths: list[str]) -> float:
    t0 = clock()
    columns = ("spectrum_id", "flux_true", "sigma", "mask")
    n = sum(len(b) for b in iter_shard_batches(paths, 256, columns=columns))
    return n / (clock() - t0)


def loader(shards, augment: Augmentation, batch_size: int, workers: int, device) -> float:
    """Spectra/s of one epoch of augmented batches (device batches synchronized)."""
    batches = training_batches(
        shards, batch_size, make_rng(0, "bench"), augment, workers=workers, device=device
    )
    t0 = clock()
    n = 0
    for b in batches:
        n += len(b)
    sync(device)
    return n / (clock() - t0)


def grid_source_rate(args, cfg, device, augment: Augmentation, tmp: Path) -> float:
    """Spectra/s of the grid source on a synthetic 4x3x3x2 grid (benchmarks/bench_observe.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_observe import make_grid

    from pfsdenoise.learn.generate import open_grid_source
    from pfsdenoise.observe.noise_table import build_noise_table, write_noise_table

    make_grid(tmp / "grid", np.random.default_rng(1))
    write_noise_table(tmp / "noise.npz", build_noise_table(cfg["noise"]))
    source = open_grid_source(
        grid_dir=tmp / "grid", noise_table=tmp / "noise.npz", sampling=cfg["sampling"],
        observe=cfg["observe"], chunks=[{"name": "all"}], spectra_per_epoch=args.rows,
    )  # fmt: skip
    options = {"shuffle_buffer": 0, "clock": LoaderClock(), "workers": 0, "rank": 0, "world": 1,
               "device": device}  # fmt: skip
    source.device_observer(device)  # tables to the device before timing
    t0 = clock()
    n = sum(len(b) for b in source.batches(256, make_rng(0, "g"), augment, **options))
    sync(device)
    return n / (clock() - t0)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def clock() -> float:
    """Seconds: wall clock with a GPU, this process's CPU time without (see the docstring)."""
    return time.perf_counter() if torch.cuda.is_available() else time.process_time()


def peak_flops(device: torch.device, bf16: bool, override: float | None) -> tuple[float, str]:
    """The device's peak FLOP/s and where it comes from."""
    if override:
        return override * 1e12, "--peak-tflops"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for fragment, (p_bf16, p_tf32) in PEAK_TFLOPS.items():
            if fragment in name:
                return (p_bf16 if bf16 else p_tf32) * 1e12, f"datasheet, {name}"
        raise SystemExit(f"no peak for {name!r} in PEAK_TFLOPS: pass --peak-tflops")
    dtype = torch.bfloat16 if bf16 else torch.float32
    a = torch.randn(1024, 1024, dtype=dtype)
    b = torch.randn(1024, 1024, dtype=dtype)
    a @ b
    reps = 10
    t0 = clock()
    for _ in range(reps):
        a @ b
    rate = 2 * 1024**3 * reps / (clock() - t0)
    return rate, f"measured {dtype} 1024² matrix product, {torch.get_num_threads()} thread(s)"


def flops_per_spectrum(model: torch.nn.Module, batch, device, bf16: bool) -> float:
    """FLOPs of one forward + backward pass per spectrum."""
    flux, sigma, mask, target, weight = to_device(batch, device)
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = model(flux, sigma, mask)
        masked_mse(pred.float(), target, weight).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(batch)


def train_steps(
    spec: dict, shards, augment: Augmentation, steps: int, device, *, bf16: bool, compile: bool
) -> tuple[float, float, int]:
    """(spectra/s of full optimizer steps, FLOPs per spectrum, parameters)."""
    torch.manual_seed(0)
    model = build_model(spec["arch"], shards.wave.size, spec["hyper"]).to(device).train()
    opt = make_optimizer(model, spec["optimizer"])
    batches = training_batches(
        shards, int(spec["batch_size"]), make_rng(0, "steps"), augment, device=device
    )
    first = next(iter(batches))
    flops = flops_per_spectrum(model, first, device, bf16)
    step_model = torch.compile(model) if compile else model
    n, t0 = 0, None
    for i, b in enumerate(training_batches(
        shards, int(spec["batch_size"]), make_rng(0, "steps"), augment, device=device
    )):  # fmt: skip
        if i == 2:  # two warm-up steps: allocators, kernels, compilation
            sync(device)
            t0, n = clock(), 0
        if i > steps + 1:
            break
        flux, sigma, mask, target, weight = to_device(b, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = step_model(flux, sigma, mask)
        loss = masked_mse(pred.float(), target, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(b)
    sync(device)
    if t0 is None:
        raise SystemExit("too few batches for the timed steps: raise --rows")
    return n / (clock() - t0), flops, count_parameters(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=512, help="stand-in spectra in the shards")
    ap.add_argument("--steps", type=int, default=6, help="timed optimizer steps per model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--config", nargs="+", default=["config.yaml"], help="config files, later ones override"
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, help="loader threads (default: the config's)")
    ap.add_argument("--bf16", action="store_true", help="also time each step in bf16 autocast")
    ap.add_argument("--compile", action="store_true", help="also time each step torch.compiled")
    ap.add_argument("--grid-source", action="store_true", help="also time the grid source")
    ap.add_argument("--peak-tflops", type=float, help="the device's peak, instead of the table")
    ap.add_argument("--models", nargs="*", help="only these of train.models")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)  # as Snakemake's --configfile, validated like the workflow
    train = cfg["train"]
    cpu_aug = Augmentation(**{**train["augment"], "where": "cpu"})
    dev_aug = Augmentation(**{**train["augment"], "where": "device"})
    device = pick_device(args.device)
    workers = train["loader_workers"] if args.workers is None else args.workers
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            str(write_toy_shard(Path(tmp) / f"{k}.parquet", args.rows // 2, k)) for k in range(2)
        ]
        shards = open_shards(paths)
        ref = raw_read(paths)
        shards.cache_if_small(float("inf"))  # as in training (train.cache_mb)
        rows = [
            ("raw shard read (reference)", ref),
            ("CPU augmentation, in the training thread", loader(shards, cpu_aug, 32, 0, device)),
            (f"CPU augmentation, {workers} workers", loader(shards, cpu_aug, 32, workers, device)),
            (f"device augmentation ({device})", loader(shards, dev_aug, 256, workers, device)),
        ]
        if args.grid_source:
            rate = grid_source_rate(args, cfg, device, dev_aug, Path(tmp))
            rows.append((f"grid source, made on {device}", rate))
        device_loader = rows[3][1]
        print(
            f"device {device}, {args.threads} thread(s), {args.rows} spectra x {shards.wave.size} px,"
            f" {workers} loader workers"
        )
        print(f"{'path':<58} {'spectra/s':>10} {'vs read':>8}")
        for label, rate in rows:
            print(f"{label:<58} {rate:>10.0f} {rate / ref:>8.2f}")

        variants = [(False, False)] + [(True, False)] * args.bf16 + [(False, True)] * args.compile
        peaks = {
            bf16: peak_flops(device, bf16, args.peak_tflops) for bf16 in {v[0] for v in variants}
        }
        for bf16, (peak, source) in sorted(peaks.items()):
            print(f"peak {'bf16' if bf16 else 'fp32/tf32'}: {peak / 1e12:.2f} TFLOP/s ({source})")
        print(f"{'model step':<40} {'spectra/s':>10} {'GFLOP/sp':>9} {'TFLOP/s':>8} {'MFU':>7} "
              f"{'vs plain':>8}")  # fmt: skip
        fastest = 0.0
        for name, spec in train["models"].items():
            if args.models and name not in args.models:
                continue
            plain = None
            for bf16, compiled in variants:
                rate, flops, n_par = train_steps(
                    spec, shards, dev_aug, args.steps, device, bf16=bf16, compile=compiled
                )
                plain = plain or rate
                fastest = max(fastest, rate)
                tag = " bf16" if bf16 else " compiled" if compiled else ""
                label = f"{name} ({n_par / 1e6:.2f} M, b{spec['batch_size']}){tag}"
                achieved = rate * flops
                print(
                    f"{label:<40} {rate:>10.1f} {flops / 1e9:>9.3f} {achieved / 1e12:>8.3f} "
                    f"{achieved / peaks[bf16][0]:>7.1%} {rate / plain:>8.2f}"
                )
        print(f"data path headroom: device augmentation / fastest model step = "
              f"{device_loader / fastest:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
