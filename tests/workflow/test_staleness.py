"""Stale-only reruns: after a complete tiny run, each kind of change makes Snakemake plan exactly
the outputs that depend on it (read from `snakemake --detailed-summary`), nothing more or less.

The expected set is not a hard-coded list of rules: it is the named seed outputs (the jobs the
change touches directly) plus everything downstream of them in the DAG the summary reports, so
the cases stay exact as rules are added. Each case leaves the completed run as it found it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from tiny_workflow import (
    REPO,
    Output,
    detailed_summary,
    downstream,
    parse_detailed_summary,
    pending,
)

pytestmark = pytest.mark.slow

OVERRIDE = "staleness-override.yaml"
FIGURE_RULES = (
    "figure_fig1",
    "figure_fig1_all",
    "figure_ratio",
    "figure_examples",
    "figure_training",
)
TOUCH_LIMIT = 1_000_000  # bytes: Snakemake compares checksums, not mtimes, of inputs below ~1 MB


@dataclass(frozen=True)
class Case:
    """A change to the completed run, and which outputs it touches directly."""

    name: str
    change: Callable[[Path], contextmanager]
    seeds: Callable[[Path, dict[str, Output]], set[str]]


@contextmanager
def config_override(workdir: Path, override: dict) -> Iterator[tuple[str, ...]]:
    """An extra config file on top of config/tiny.yaml, removed afterwards."""
    path = workdir / OVERRIDE
    path.write_text(yaml.safe_dump(override))
    try:
        yield (OVERRIDE,)
    finally:
        path.unlink()


@contextmanager
def nothing(workdir: Path) -> Iterator[tuple[str, ...]]:
    yield ()


@contextmanager
def plots_option(workdir: Path) -> Iterator[tuple[str, ...]]:
    with config_override(workdir, {"plots": {"dpi": 151}}) as configs:
        yield configs


@contextmanager
def model_hyper(workdir: Path) -> Iterator[tuple[str, ...]]:
    model = _tiny()["train"]["models"]
    name = sorted(model)[0]
    with config_override(workdir, {"train": {"models": {name: {"batch_size": 5}}}}) as configs:
        yield configs


@contextmanager
def chunk_seed(workdir: Path) -> Iterator[tuple[str, ...]]:
    chunks = [dict(c) for c in _tiny()["simulate"]["chunks"]]
    chunks[-1]["seed"] = chunks[-1].get("seed", 0) + 1  # lists replace: restate all chunks
    with config_override(workdir, {"simulate": {"chunks": chunks}}) as configs:
        yield configs


def library_edit(module: str):
    @contextmanager
    def edit(workdir: Path) -> Iterator[tuple[str, ...]]:
        path = workdir / "src" / "pfsdenoise" / module
        original, stat = path.read_bytes(), path.stat()
        path.write_bytes(original + b"\n# edited by test_staleness\n")
        try:
            yield ()
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return edit


@contextmanager
def touch_small_inputs(workdir: Path) -> Iterator[tuple[str, ...]]:
    """Touch, unchanged, every library file and every file that some job takes as input and
    that is small enough for Snakemake to compare checksums. Folder inputs (the grid slices)
    are left alone: Snakemake has no checksum for a folder and reruns on a newer file in it."""
    inputs = {i for out in detailed_summary(workdir).values() for i in out.inputs}
    files = [workdir / i for i in inputs] + list((workdir / "src").rglob("*.py"))
    files = [p for p in files if p.is_file() and p.stat().st_size < TOUCH_LIMIT]
    assert any("/results/" in str(p) for p in files)
    stats = {p: p.stat() for p in files}
    for p in files:
        p.touch()
    try:
        yield ()
    finally:
        for p, st in stats.items():
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


def _tiny() -> dict:
    return yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


def no_seeds(workdir: Path, outputs: dict[str, Output]) -> set[str]:
    return set()


def figure_outputs(workdir: Path, outputs: dict[str, Output]) -> set[str]:
    return {p for p in outputs if p.startswith("results/figures/")}


def first_model_outputs(workdir: Path, outputs: dict[str, Output]) -> set[str]:
    name = sorted(_tiny()["train"]["models"])[0]
    return {p for p, o in outputs.items() if o.rule == "train" and f"/{name}/" in p}


def last_chunk_shards(workdir: Path, outputs: dict[str, Output]) -> set[str]:
    chunk = _tiny()["simulate"]["chunks"][-1]["name"]
    return {
        p for p, o in outputs.items() if o.rule == "simulate" and p.endswith(f"/{chunk}.parquet")
    }


def rules_of(*rules: str):
    """The outputs of the named rules: the jobs a change touches directly."""

    def seeds(workdir: Path, outputs: dict[str, Output]) -> set[str]:
        return {p for p, o in outputs.items() if o.rule in rules}

    return seeds


def figure_rules(workdir: Path, outputs: dict[str, Output]) -> set[str]:
    return {p for p, o in outputs.items() if o.rule.startswith("figure_")}


CASES = [
    Case("nothing changed", nothing, no_seeds),
    Case("plots option", plots_option, figure_outputs),
    Case("model hyper-parameter", model_hyper, first_model_outputs),
    Case("simulation option (a chunk's seed)", chunk_seed, last_chunk_shards),
    # Library edits: the rules whose scripts import the module, directly or not, and all after.
    Case(
        "library edit: grid/interpolate.py",
        library_edit("grid/interpolate.py"),
        rules_of("simulate"),  # the shards, not the grid (the grid build never interpolates)
    ),
    Case(
        "library edit: observe/sky.py",
        library_edit("observe/sky.py"),
        rules_of("noise_table", "simulate"),
    ),
    Case("library edit: learn/prefetch.py", library_edit("learn/prefetch.py"), rules_of("train")),
    Case(
        "library edit: evaluate/binning.py",
        library_edit("evaluate/binning.py"),
        rules_of("errbins", "table_comparison", *FIGURE_RULES),
    ),
    Case("library edit: plots/style.py", library_edit("plots/style.py"), figure_rules),
    Case("touch without change", touch_small_inputs, no_seeds),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_change_reruns_exactly_what_depends_on_it(tiny_run: Path, case: Case) -> None:
    with case.change(tiny_run) as configs:
        outputs = detailed_summary(tiny_run, configs)
    planned = pending(outputs)
    seeds = case.seeds(tiny_run, outputs)
    if case.seeds is not no_seeds:
        assert seeds, f"{case.name}: no output of the DAG is touched directly; the case is void"
    expected = downstream(outputs, seeds)
    assert sorted(planned - expected) == [], f"{case.name}: planned but independent of the change"
    assert sorted(expected - planned) == [], f"{case.name}: depends on the change, not planned"


def test_moved_project_plans_nothing(tiny_run: Path, tmp_path: Path) -> None:
    """A finished project copied (or mounted) elsewhere with its results is up to date: code
    dependencies are content hashes, not paths of the checkout. Also when Snakemake is run
    from another folder with `--directory` (before: all 159 jobs reran, "Set of input files
    has changed")."""
    moved = tmp_path / "moved"
    shutil.copytree(tiny_run, moved, symlinks=True)
    assert pending(detailed_summary(moved)) == set()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", "moved/Snakefile", "--directory", "moved",
         "--configfile", "moved/config/tiny.yaml", "--detailed-summary"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    outputs = parse_detailed_summary(result.stdout)
    assert outputs and pending(outputs) == set()
