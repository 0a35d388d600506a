"""Helpers of the workflow tests: a copy of the workflow in a temporary folder, Snakemake run
there with config/tiny.yaml, and a reader of `--detailed-summary`. (A module name of its own, so
that test modules import it unambiguously; the fixtures are in conftest.py.)

The copy holds its own `src/`, so a test may edit a library module there: the rules list those
files by absolute path (`workflow.basedir/src/...`), never the repository's.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What a run of the workflow needs from the repository (the profile too, for the Slurm test).
WORKFLOW_PARTS = ("Snakefile", "config.yaml", "config", "workflow", "src", "envs", "slurm")
TINY = ("--configfile", "config/tiny.yaml")
# A whole tiny run takes about 1-3 minutes on 2 cores; a summary a few seconds.
RUN_TIMEOUT_S = 900


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow files of the repository into `dest` (no results, caches or metadata)."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".snakemake", "results")
    for name in WORKFLOW_PARTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest


def snakemake(
    workdir: Path,
    *args: str,
    configs: tuple[str, ...] = (),
    timeout: float = RUN_TIMEOUT_S,
    tiny: bool = True,
) -> subprocess.CompletedProcess:
    """Run the Snakemake CLI in `workdir` with the tiny config (unless `tiny` is False) and then
    `configs` (files relative to `workdir`, each overriding the ones before); stdout and stderr
    together."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *(TINY if tiny else ()), *configs, *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Output:
    """One row of `snakemake --detailed-summary`: an output file, its rule, inputs and plan."""

    path: str
    rule: str
    inputs: tuple[str, ...]
    pending: bool


def detailed_summary(workdir: Path, configs: tuple[str, ...] = ()) -> dict[str, Output]:
    """Every output of the DAG (paths relative to `workdir`) with its rule, inputs and whether
    Snakemake plans to update it (`plan` column: "update pending" / "no update")."""
    result = snakemake(workdir, "--detailed-summary", configs=configs, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"snakemake --detailed-summary failed:\n{tail(result.stdout)}")
    return parse_detailed_summary(result.stdout)


def parse_detailed_summary(stdout: str) -> dict[str, Output]:
    """The rows of a `--detailed-summary` output (see :func:`detailed_summary`)."""
    # The table starts at its header line; anything before it is Snakemake's chatter.
    text = stdout[stdout.index("output_file\t") :]
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    outputs = {}
    for row in rows:
        if row.get("plan") is None:  # trailing chatter after the table
            continue
        inputs = tuple(p for p in (row["input-file(s)"] or "").split(",") if p and p != "-")
        outputs[row["output_file"]] = Output(
            path=row["output_file"],
            rule=row["rule"],
            inputs=inputs,
            pending=row["plan"].strip() != "no update",
        )
    return outputs


def pending(outputs: dict[str, Output]) -> set[str]:
    return {path for path, out in outputs.items() if out.pending}


def downstream(outputs: dict[str, Output], seeds: set[str]) -> set[str]:
    """The outputs in `seeds` and every output that depends on one of them, transitively."""
    found = set(seeds)
    grown = True
    while grown:
        grown = False
        for path, out in outputs.items():
            if path not in found and found.intersection(out.inputs):
                found.add(path)
                grown = True
    return found
