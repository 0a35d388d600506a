"""The `train` rule: a killed training job resumes on rerun; a model's settings rerun only it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from learn_helpers import WAVE

from pfsdenoise.learn.testdata import tiny_spec, write_toy_shard

ROOT = Path(__file__).parents[2]


def children(pid: int) -> list[int]:
    """All descendants of a process (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *children(k)]
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def workdir(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for split in ("train", "val"):
        for i, chunk in enumerate(config["simulate"]["chunks"]):
            write_toy_shard(
                tmp_path / f"results/shards/{split}/{chunk['name']}.parquet", 16, i, WAVE, split
            )
    slow = tiny_spec("dae", epochs=12)
    slow["batch_size"] = 2  # many small steps: epochs long enough to kill one mid-way
    models = {"slow": slow, "quick": tiny_spec("dae", epochs=1)}
    (tmp_path / "over.yaml").write_text(yaml.safe_dump({"train": {"models": models, "threads": 1}}))
    return tmp_path


def snakemake(workdir: Path, *args: str, **kw) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(ROOT / "config.yaml"),
        "over.yaml",
        "--allowed-rules",
        "train",
        "shard_index",
        "--cores",
        "1",
        *args,
    ]
    return subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    )


def test_killed_job_resumes_from_state_and_params_rerun_one_model(workdir):
    target = "results/models/slow/model.pt"
    history = workdir / "results/models/slow/history.csv"
    proc = snakemake(workdir, target)
    deadline = time.time() + 90
    while time.time() < deadline and (not history.exists() or len(pd.read_csv(history)) < 2):
        time.sleep(0.1)
    jobs = [p for p in children(proc.pid) if "train_model.py" in cmdline(p)]
    assert jobs, "training job not found"
    os.kill(jobs[0], signal.SIGKILL)  # the job dies mid-epoch (as on a cluster time limit)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    assert (
        not (workdir / target).exists() and (workdir / "results/models/slow/state/last.pt").exists()
    )
    assert not history.exists()  # a declared output: Snakemake removed it, the state stays

    rerun = snakemake(workdir, target, "results/models/quick/model.pt")
    out, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out
    log = (workdir / "results/logs/train/slow.log").read_text()
    assert "resuming after epoch" in log
    resumed_after = int(log.split("resuming after epoch ")[1].split()[0])
    assert resumed_after >= 2
    assert list(pd.read_csv(history)["epoch"]) == list(range(1, 13))

    over = yaml.safe_load((workdir / "over.yaml").read_text())
    over["train"]["models"]["quick"]["optimizer"]["lr"] = 2e-3
    (workdir / "over.yaml").write_text(yaml.safe_dump(over))
    dry = snakemake(workdir, target, "results/models/quick/model.pt", "-n")
    out, _ = dry.communicate(timeout=120)
    assert "wildcards: model=quick" in out and "wildcards: model=slow" not in out, out


def test_a_distilled_model_depends_on_its_teachers_model_file(workdir):
    """`teacher: quick` makes the student's train job take quick's model file as input (quick
    is trained first); a teacher that is not another model is refused before any job (the
    configuration checks), naming the key."""
    over = yaml.safe_load((workdir / "over.yaml").read_text())
    over["train"]["models"]["student"] = {**tiny_spec("dae", epochs=1), "teacher": "quick"}
    (workdir / "over.yaml").write_text(yaml.safe_dump(over))
    dry = snakemake(workdir, "results/models/student/model.pt", "-n")
    out, _ = dry.communicate(timeout=120)
    assert dry.returncode == 0, out
    assert "wildcards: model=quick" in out and "results/models/quick/model.pt" in out, out
    over["train"]["models"]["orphan"] = {**tiny_spec("dae", epochs=1), "teacher": "nobody"}
    (workdir / "over.yaml").write_text(yaml.safe_dump(over))
    bad = snakemake(workdir, "results/models/orphan/model.pt", "-n")
    out, _ = bad.communicate(timeout=120)
    assert bad.returncode != 0
    assert "train.models.orphan.teacher: 'nobody' is not another model" in out, out
