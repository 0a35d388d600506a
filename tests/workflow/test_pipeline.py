"""The dataset production workflow end to end: lint, the default DAG, bad configs, a complete
tiny run, provenance from a figure back to the config, and a shard job killed half-way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from tiny_workflow import REPO, copy_workflow, snakemake, tail

from pfsdenoise.logs import UNDECLARED
from pfsdenoise.provenance import provenance_chain
from pfsdenoise.shards import read_shard

pytestmark = pytest.mark.slow


def run_snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake with the workflow's own config only (no tiny override)."""
    return snakemake(workdir, *args, tiny=False, timeout=300)


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("wf"))


def test_lint_is_clean(workflow_copy: Path) -> None:
    result = run_snakemake(workflow_copy, "--lint")
    assert result.returncode == 0, tail(result.stdout)
    rule_files = ["Snakefile", *sorted(str(p) for p in Path(REPO / "workflow/rules").glob("*.smk"))]
    fmt = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", *rule_files],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stderr


def test_default_config_plans_the_whole_pipeline(workflow_copy: Path) -> None:
    result = run_snakemake(workflow_copy, "-n", "--quiet", "rules")
    assert result.returncode == 0, tail(result.stdout)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    n_shards = len(config["simulate"]["chunks"]) * len(config["simulate"]["splits"])
    counts = dict(
        line.split()
        for line in result.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    )
    assert int(counts["simulate"]) == n_shards
    assert int(counts["train"]) == len(config["train"]["models"])
    for rule in ("grid_merge", "noise_table", "errbins", "figure_fig1_all", "table_comparison"):
        assert rule in counts, f"rule {rule} missing from the default DAG:\n{result.stdout}"


def test_a_rule_without_its_derived_code_is_refused(tmp_path: Path) -> None:
    """Every scripted rule passes the import closure of its own script: a rule that names
    another script's closure (or none) stops the workflow before any job."""
    workdir = copy_workflow(tmp_path / "wf")
    rules = workdir / "workflow/rules/noise.smk"
    text = rules.read_text()
    rules.write_text(text.replace('script_code("noise_table.py")', 'script_code("grid_merge.py")'))
    result = run_snakemake(workdir, "-n")
    assert result.returncode != 0
    assert "the params of 'noise_table' must include code=script_code('noise_table.py')" in (
        result.stdout
    ), tail(result.stdout)


def test_every_job_imported_only_its_derived_code(tiny_run: Path) -> None:
    """At exit each job compares the library modules it loaded with its rule's derived code
    (pfsdenoise.logs.check_loaded_code): no log of the complete run reports a missing one."""
    logs = sorted((tiny_run / "results/logs").rglob("*.log"))
    assert len(logs) > 20
    flagged = [str(p) for p in logs if UNDECLARED in p.read_text()]
    assert flagged == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"simulate": {"splitz": {}}}, "simulate: Additional properties"),
        ({"simulate": {"splits": {"train": "many"}}}, "simulate.splits.train: 'many'"),
        ({"simulate": {"chunks": [{"name": "x", "teff": [6000, 5000]}]}}, "simulate.chunks.0.teff"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path: Path, override: dict, message: str) -> None:
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "bad.yaml").write_text(yaml.safe_dump(override))
    result = run_snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml")
    assert result.returncode != 0
    assert "invalid configuration" in result.stdout and message in result.stdout, tail(
        result.stdout
    )
    assert not (workdir / "results").exists()


def test_complete_run_has_shards_models_and_figures(tiny_run: Path) -> None:
    tiny = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    for split, n in tiny["simulate"]["splits"].items():
        for chunk in tiny["simulate"]["chunks"]:
            batch = read_shard(tiny_run / f"results/shards/{split}/{chunk['name']}.parquet")
            assert len(batch) == n
            assert batch.spectra["flux"].shape == (n, 4096)
            assert batch.params["spectrum_id"].str.startswith(f"{split}/{chunk['name']}/").all()
            lo, hi = chunk["teff"]
            assert batch.params["teff"].between(lo, hi).all()
    for model in tiny["train"]["models"]:
        assert (tiny_run / f"results/models/{model}/model.pt").exists()
    assert (tiny_run / "results/figures/fig1_all.png").stat().st_size > 10_000
    # a second run has nothing to do
    again = snakemake(tiny_run, "--cores", "2")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout, tail(again.stdout)


def test_provenance_chain_leads_from_a_figure_to_grid_and_shards(tiny_run: Path) -> None:
    chain = provenance_chain(tiny_run / "results/figures/fig1_all.png")
    steps = {record["step"] for _, _, record in chain if record}
    paths = [p for _, p, _ in chain]
    assert {"simulate", "noise_table"} <= steps, steps
    assert any("results/shards/test/" in p for p in paths)
    assert any("results/models/" in p for p in paths)
    assert any("results/grid/" in p for p in paths)
    figure = str(tiny_run / "results/figures/fig1_all.png")
    cli = [sys.executable, "-m", "pfsdenoise.cli", "provenance"]
    text = subprocess.run([*cli, figure], capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    assert lines[0].startswith(f"{figure} <- figure_fig1_all: ")
    assert len(lines) == len(chain)  # one line per step
    simulate = [line for line in lines if " <- simulate: " in line]
    assert simulate and all("seed " in line and "code sha256:" in line for line in simulate)
    whole = subprocess.run([*cli, "--json", figure], capture_output=True, text=True, check=True)
    records = json.loads(whole.stdout)
    assert [r["path"] for r in records] == paths
    assert records[0]["record"]["step"] == "figure_fig1_all"


def _wait_for_script(parent: psutil.Process, name: str, timeout: float = 120) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            try:
                if any(name in part for part in child.cmdline()):
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.05)
    raise AssertionError(f"no {name} process appeared within {timeout} s")


def test_killed_shard_job_leaves_nothing_complete_and_reruns(
    tiny_run: Path, tmp_path: Path
) -> None:
    """Kill the simulate job of a large shard mid-way: no shard appears; a rerun completes it."""
    workdir = tmp_path / "wf"
    shutil.copytree(tiny_run, workdir, symlinks=True)  # copy2 keeps mtimes: nothing else is stale
    (workdir / "big.yaml").write_text(yaml.safe_dump({"simulate": {"splits": {"train": 4000}}}))
    target = "results/shards/train/hot.parquet"
    (workdir / target).unlink()
    args = [sys.executable, "-m", "snakemake", "--configfile", "config/tiny.yaml", "big.yaml",
            "--cores", "1", target, "--allowed-rules", "simulate"]  # fmt: skip
    proc = subprocess.Popen(
        args, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    job = _wait_for_script(psutil.Process(proc.pid), "simulate_shard.py")
    log = workdir / "results/logs/simulate/train/hot.log"
    deadline = time.monotonic() + 60
    while (
        "simulating" not in (log.read_text() if log.exists() else "")
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the simulation of 4000 spectra
    job.kill()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, tail(out)
    assert not (workdir / target).exists(), "a killed job left a shard that looks complete"

    rerun = subprocess.run(
        args, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    assert rerun.returncode == 0, tail(rerun.stdout + rerun.stderr)
    assert len(read_shard(workdir / target)) == 4000
    leftovers = [p.name for p in (workdir / "results/shards/train").iterdir() if ".tmp" in p.name]
    assert leftovers == []


def test_cli_reproduces_a_workflow_shard(tiny_run: Path, tmp_path: Path) -> None:
    """`pfsdenoise simulate` outside Snakemake derives the same seed and writes the same data."""
    n = yaml.safe_load((tiny_run / "config/tiny.yaml").read_text())["simulate"]["splits"]["test"]
    out = tmp_path / "cool.parquet"
    cli = [sys.executable, "-m", "pfsdenoise.cli"]
    subprocess.run(
        [*cli, "simulate", "--config", "config.yaml", "config/tiny.yaml",
         "--grid", "results/grid/tiny", "--noise", "results/noise/mr/noise_table.npz",
         "--split", "test", "--chunk", "cool", "-o", str(out)],
        check=True, cwd=tiny_run,
    )  # fmt: skip
    ours, theirs = read_shard(out), read_shard(tiny_run / "results/shards/test/cool.parquet")
    for name in ("flux", "flux_true", "sigma", "mask"):
        assert (ours.spectra[name] == theirs.spectra[name]).all(), name
    assert list(ours.params["spectrum_id"]) == list(theirs.params["spectrum_id"])
    summary = subprocess.run(
        [*cli, "inspect", str(out)], capture_output=True, text=True, check=True
    )
    assert f"{n} in 1 row group" in summary.stdout and "pfsdenoise simulate" in summary.stdout
