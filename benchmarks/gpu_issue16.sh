#!/usr/bin/env bash
# The GPU parts of issue 16 (docs/evaluation.md: the paper-scale table and the large-data claims),
# for a session with a lent GPU (one H100/H200-class GPU, 16 cores). From the repository root;
# results under $OUT (default gpu_issue16_out/).
#
#   bash benchmarks/gpu_issue16.sh paper   # config/paper.yaml + paper-h100.yaml (1250 training
#                                          # spectra incl. the bright chunk; unet, dae, resunet):
#                                          # ~5-8 min; the comparison table per S/N bin, and the
#                                          # ratio to `tempfit` when issue 15 has landed
#   bash benchmarks/gpu_issue16.sh large   # the `dae` of config/large.yaml (>= 100 000 spectra)
#                                          # capped at $LARGE_MINUTES (default 8) of training:
#                                          # claims "~10x better than the U-Net" and "a fraction
#                                          # of a percent down to S/N 10"; its S/N, Teff, [M/H] bins
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD/src
OUT=${OUT:-gpu_issue16_out}
mkdir -p "$OUT"
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())" \
  | tee "$OUT/device.txt"

case "${1:-paper}" in
paper)
  start=$(date +%s)
  timeout 570 snakemake --cores 16 --resources gpu=3 \
    --configfile config/paper.yaml config/paper-h100.yaml 2>&1 | tail -n 30 | tee "$OUT/paper_run.txt"
  echo "wall $(( $(date +%s) - start )) s" | tee -a "$OUT/paper_run.txt"
  cp results/tables/comparison.md "$OUT/comparison_paper.md"
  cp results/models/*/history.csv "$OUT/" 2>/dev/null || true
  for m in results/models/*/; do cp "$m/card.json" "$OUT/card_$(basename "$m").json"; done
  ;;
large)
  minutes=${LARGE_MINUTES:-8}
  cat > "$OUT/large-dae.yaml" <<YAML
# config/large.yaml's dae with its training capped at $minutes minutes (max_minutes: opt-in cap)
train:
  threads: 12
  loader_workers: 4
  models:
    dae: {max_minutes: $minutes}
YAML
  timeout 590 snakemake --cores 16 --resources gpu=1 \
    --configfile config.yaml config/large.yaml "$OUT/large-dae.yaml" \
    results/errbins/dae/snr.parquet results/errbins/dae/teff.parquet results/errbins/dae/mh.parquet \
    2>&1 | tail -n 30 | tee "$OUT/large_run.txt"
  cp results/models/dae/card.json results/models/dae/history.csv "$OUT/"
  python - <<'PY' | tee "$OUT/large_dae_bins.txt"
import pandas as pd
for axis in ("snr", "teff", "mh"):
    d = pd.read_parquet(f"results/errbins/dae/{axis}.parquet")
    d = d[d["metric"] == "rel_mean"]  # mean relative error (fraction) per bin
    print(axis)
    print(d[["lo", "hi", "count", "mean"]].to_string(index=False))
PY
  ;;
*)
  echo "usage: $0 paper|large" >&2; exit 2 ;;
esac
