"""Wall time per stage of a workflow run, from the rules' benchmark files.

    python benchmarks/stage_times.py results/benchmarks [--total SECONDS]

Each rule with a ``benchmark:`` writes ``results/benchmarks/<stage>/.../<job>.tsv`` (Snakemake:
s = wall seconds, cpu_time, max_rss in MB). Prints, per stage (the first two folder levels: e.g.
``simulate``, ``train``, ``evaluate/denoise``), the jobs, their summed and longest wall time
and CPU time, and with ``--total`` (the run's own wall time) each stage's share of it.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def stage_times(root: Path) -> dict[str, dict[str, float]]:
    """{stage: {jobs, wall_s, longest_s, cpu_s, max_rss_mb}} from the benchmark files."""
    stages: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "wall_s": 0.0, "longest_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0}
    )
    for path in sorted(root.rglob("*.tsv")):
        parts = path.relative_to(root).parts
        stage = "/".join(parts[:2]) if parts[0] == "evaluate" else parts[0]
        with path.open() as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                entry = stages[stage]
                wall = float(row["s"])
                entry["jobs"] += 1
                entry["wall_s"] += wall
                entry["longest_s"] = max(entry["longest_s"], wall)
                entry["cpu_s"] += float(row.get("cpu_time") or 0.0)
                rss = row.get("max_rss", "-")
                entry["max_rss_mb"] = max(entry["max_rss_mb"], float(rss) if rss != "-" else 0.0)
    return dict(stages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="the run's results/benchmarks folder")
    ap.add_argument("--total", type=float, help="the run's wall time [s], for the shares")
    args = ap.parse_args()
    stages = stage_times(args.root)
    print(f"{'stage':<24} {'jobs':>5} {'wall s':>8} {'longest s':>9} {'CPU s':>8} {'max RSS MB':>10}"
          + (f" {'of run':>7}" if args.total else ""))  # fmt: skip
    for stage, e in stages.items():
        share = f" {e['wall_s'] / args.total:>7.1%}" if args.total else ""
        print(f"{stage:<24} {e['jobs']:>5.0f} {e['wall_s']:>8.1f} {e['longest_s']:>9.1f} "
              f"{e['cpu_s']:>8.1f} {e['max_rss_mb']:>10.0f}{share}")  # fmt: skip


if __name__ == "__main__":
    main()
