#!/usr/bin/env bash
# The GPU measurements of issue 18, for a session with a lent GPU (one H100-class GPU, 16 cores).
# From the repository root; results under $OUT (default gpu_session_out/), printed as they come.
#
#   bash benchmarks/gpu_session.sh measure   # ~6 min: data paths, FLOPs, MFU (plain, bf16,
#                                            # compiled), grid source, observe step per core
#   bash benchmarks/gpu_session.sh large     # config/large.yaml at full size (110 000 spectra,
#                                            # the 11 704-node grid), training capped at
#                                            # $LARGE_MINUTES per model (default 2): ~12 min
#   bash benchmarks/gpu_session.sh ddp       # 2 ranks on the GPUs there are (needs 2 GPUs)
#
# The uncapped large run needs hours (30 epochs of the 64...512 U-Net over 100 000 spectra at
# ~1700 spectra/s is ~30 min alone; the dae's 200 epochs ~45 min at the loader-free rate):
#   snakemake --cores 16 --resources gpu=1 --configfile config.yaml config/large.yaml
#   snakemake --profile slurm --configfile config.yaml config/large.yaml          # a cluster
# Each prints its per-stage wall times with benchmarks/stage_times.py results/benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD/src
OUT=${OUT:-gpu_session_out}
mkdir -p "$OUT"
what=${1:-measure}

python - <<'EOF' | tee "$OUT/device.txt"
import torch
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU session"
print(torch.__version__, torch.cuda.get_device_name(), torch.cuda.device_count(), "GPU(s)")
EOF

case "$what" in
measure)
  # 1. Data paths (CPU loader, device augmentation, grid source) and every paper-scale model's
  #    step: spectra/s, GFLOP per spectrum, achieved TFLOP/s, MFU against the datasheet peak.
  timeout 420 python benchmarks/bench_train.py --rows 4096 --steps 30 --threads 8 --workers 4 \
    --config config.yaml config/paper.yaml --bf16 --compile --grid-source \
    | tee "$OUT/bench_train_paper.txt"
  # 2. The observe step on one core of this machine, and its memory bound.
  timeout 150 python benchmarks/bench_observe.py --n 4096 --n-ref 20 | tee "$OUT/bench_observe.txt"
  ;;
large)
  minutes=${LARGE_MINUTES:-2}
  cat > "$OUT/large-capped.yaml" <<EOF
# config/large.yaml with each model's training capped at $minutes minutes (max_minutes)
train:
  threads: 12
  loader_workers: 4
  models:
    unet: {max_minutes: $minutes}
    dae: {max_minutes: $minutes}
    resunet: {max_minutes: $minutes}
EOF
  start=$(date +%s)
  timeout 900 snakemake --cores 16 --resources gpu=1 \
    --configfile config.yaml config/large.yaml "$OUT/large-capped.yaml" 2>&1 \
    | tail -n 40 | tee "$OUT/large_run.txt"
  end=$(date +%s)
  python benchmarks/stage_times.py results/benchmarks --total $((end - start)) \
    | tee "$OUT/large_stages.txt"
  cp results/models/*/card.json "$OUT/" 2>/dev/null || true
  ;;
ddp)
  n=$(python -c "import torch; print(torch.cuda.device_count())")
  [ "$n" -ge 2 ] || { echo "ddp: needs 2 GPUs, this machine has $n" >&2; exit 1; }
  # the CPU test of tests/learn/test_distributed.py on CUDA (NCCL, SyncBatchNorm): 1 vs 2 ranks
  timeout 600 python - <<'EOF' | tee "$OUT/ddp_cuda.txt"
import tempfile
from pathlib import Path
import numpy as np, pandas as pd
from pfsdenoise.learn.testdata import tiny_spec, train_options, write_toy_shard
from pfsdenoise.learn.train import train_model
tmp = Path(tempfile.mkdtemp())
train = [str(write_toy_shard(tmp / f"t{k}.parquet", 512, k)) for k in range(2)]
val = [str(write_toy_shard(tmp / "v.parquet", 128, 9, split="val"))]
for arch in ("resunet", "unet"):
    spec = tiny_spec(arch, epochs=4, optimizer={"name": "adam", "lr": 3e-3})
    spec["batch_size"] = 64
    hist = {}
    for n in (1, 2):
        out = tmp / f"{arch}{n}"
        train_model(arch, spec, train, val, out, seed=3,
                    **train_options(device="cuda", processes=n, threads=4))
        hist[n] = pd.read_csv(out / "history.csv")
    rel = (hist[2]["val_loss"] - hist[1]["val_loss"]).abs() / hist[1]["val_loss"]
    print(arch, "val_loss 1 rank:", list(hist[1]["val_loss"]), "2 ranks:", list(hist[2]["val_loss"]),
          "max rel diff", float(rel.max()))
EOF
  ;;
*)
  echo "usage: $0 measure|large|ddp" >&2
  exit 2
  ;;
esac
