"""Planning at scale: dry-run time and cluster submissions of a configuration with many shards.

    python benchmarks/bench_plan.py [--chunks 334] [--repeat 2] [--profile slurm] [--per-method]
    python benchmarks/bench_plan.py --repo /work/main       # another checkout: before a change

Writes a config with ``--chunks`` stellar-parameter chunks (× 3 splits = the shards; 334 gives
1002, the issue's measurement) over the default config, copies the workflow to a temporary
folder, and times, in the same run: ``snakemake --version`` (the reference: the CLI's start-up
alone), ``snakemake -n`` (the whole DAG planned and printed) and, with the profile, a dry run
through it, whose output says how many jobs would go to the cluster and in how many
submissions: single jobs plus one per group job. A dry run prints a group's jobs indented but
neither its group jobs nor which rules are local, so those are counted from the rule files
(``localrules:``, ``group:``) and the profile's ``group-components``, as Snakemake packs them:
``ceil(jobs / components)`` group jobs per group. ``--repo`` measures another checkout (e.g.
/work/main, before a change). Prints wall and CPU seconds (the CPU time of the snakemake
process: planning is single-threaded, so on an idle machine it is the wall time, and other
jobs on the machine do not inflate it) and the ratio to the start-up's.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PARTS = ("Snakefile", "config.yaml", "config", "workflow", "src", "envs", "slurm")
JOB = re.compile(r"^(\s*)(localrule|rule) (\w+):$", re.M)
GROUP = re.compile(r"Group job (\S+) \(jobs in lexicogr\. order\):", re.M)


def workflow_copy(repo: Path, dest: Path, n_chunks: int, per_method: bool) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".snakemake", "results")
    for name in PARTS:
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name, **(
            {"ignore": ignore} if src.is_dir() else {}))  # fmt: skip
    lo, hi = 3500.0, 7500.0
    step = (hi - lo) / n_chunks
    chunks = [
        {"name": f"c{i:04d}", "teff": [round(lo + i * step, 3), round(lo + (i + 1) * step, 3)]}
        for i in range(n_chunks)
    ]
    config: dict = {"simulate": {"chunks": chunks}}
    if per_method:
        config["evaluate"] = {"predict_jobs": "method"}
    (dest / "many.yaml").write_text(yaml.safe_dump(config))
    return dest


def timed(workdir: Path, *args: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the snakemake process, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if out.returncode != 0:
        raise SystemExit(
            f"snakemake {' '.join(args)} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    return seconds, cpu, out.stdout + out.stderr


def rule_facts(workdir: Path, profile: str) -> tuple[set[str], dict[str, str], dict[str, int]]:
    """Local rules, rule -> group, group -> components (from the rule files and the profile)."""
    local: set[str] = set()
    groups: dict[str, str] = {}
    for path in (workdir / "workflow" / "rules").glob("*.smk"):
        rule, section = None, None
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if line.startswith(("rule ", "localrules:")) or (line and not line[0].isspace()):
                rule = line[5:-1] if line.startswith("rule ") else None
                section = "localrules" if line.startswith("localrules:") else None
            elif stripped.endswith(":") and " " not in stripped:
                section = stripped[:-1]
            elif section == "localrules" and stripped:
                local.add(stripped.rstrip(","))
            elif section == "group" and rule and stripped:
                groups[rule] = stripped.strip("\"'")
    settings = yaml.safe_load((workdir / profile / "config.yaml").read_text())
    components = dict(
        (k, int(v)) for k, v in (c.split("=") for c in settings.get("group-components", []))
    )
    return local, groups, components


def submissions(log: str, workdir: Path, profile: str) -> tuple[int, int, int, int]:
    """(jobs, local jobs, cluster jobs, cluster submissions) of a profile dry run's output."""
    local_rules, groups, components = rule_facts(workdir, profile)
    jobs = [rule for _, _, rule in JOB.findall(log) if rule != "all"]
    local = sum(rule in local_rules for rule in jobs)
    per_group: dict[str, int] = {}
    single = 0
    for rule in jobs:
        if rule in local_rules:
            continue
        if rule in groups:
            per_group[groups[rule]] = per_group.get(groups[rule], 0) + 1
        else:
            single += 1
    packed = sum(-(-n // components.get(g, 1)) for g, n in per_group.items())
    return len(jobs), local, len(jobs) - local, single + packed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=334, help="chunks (x 3 splits = shards)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each (best kept)")
    ap.add_argument("--profile", default="slurm", help="profile of the submission count")
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                    help="the checkout to measure (default: this one)")  # fmt: skip
    ap.add_argument("--per-method", action="store_true",
                    help="one prediction job per method (evaluate.predict_jobs: method)")  # fmt: skip
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = workflow_copy(args.repo, Path(tmp), args.chunks, args.per_method)
        config = ("--configfile", "config.yaml", "many.yaml")
        runs = {
            "snakemake --version (reference: start-up)": [
                timed(work, "--version") for _ in range(args.repeat)
            ],
            # the first plan in the folder parses the library's imports; later ones find them
            # in .snakemake/ (code_closure.ImportFacts)
            "snakemake -n, first in a new folder": [timed(work, *config, "-n", "--cores", "1")],
            "snakemake -n": [
                timed(work, *config, "-n", "--cores", "1") for _ in range(args.repeat)
            ],
            f"snakemake -n --profile {args.profile}": [
                timed(work, *config, "-n", "--profile", args.profile) for _ in range(args.repeat)
            ],
        }
        log = runs[f"snakemake -n --profile {args.profile}"][0][2]
        n_jobs, local, cluster, subs = submissions(log, work, args.profile)
    print(f"{args.repo}: {args.chunks} chunks x 3 splits = {3 * args.chunks} shards, {n_jobs} jobs")
    print(f"{'run':<44} {'wall s':>7} {'CPU s':>6} {'CPU vs start-up':>15}")
    ref = min(r[1] for r in runs["snakemake --version (reference: start-up)"])
    for label, results in runs.items():
        wall, cpu = min(r[0] for r in results), min(r[1] for r in results)
        print(f"{label:<44} {wall:>7.2f} {cpu:>6.2f} {cpu / ref:>15.2f}")
    print(f"through the profile: {local} local jobs, {cluster} cluster jobs in {subs} submissions")


if __name__ == "__main__":
    main()
