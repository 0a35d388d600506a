"""Data-parallel training on CPU: torchrun, 2 gloo ranks, against one process with the same global
batch; resume after a kill, a rank that dies, a state of another world size."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from pfsdenoise.learn.testdata import tiny_spec, train_options
from pfsdenoise.learn.train import TrainingError, train_model

# Float32 reductions in another order (two partial gradient sums instead of one, averaged by
# DDP) over 6 epochs of Adam: measured ≤ 2e-6 relative; 1e-4 leaves room across machines.
RTOL = 1e-4

RUNNER = """
import sys, json, logging
logging.basicConfig(level=logging.INFO)
from pfsdenoise.learn.train import train_model
spec, shards, out, options = (json.loads(a) for a in sys.argv[1:5])
train_model("resunet", spec, shards["train"], shards["val"], out, seed=11, **options)
"""


def spec(epochs: int = 3) -> dict:
    """GroupNorm, no dropout: nothing that depends on how a batch is split (batch norm would
    normalize per rank on CPU, dropout draws per rank)."""
    return tiny_spec("resunet", epochs=epochs, optimizer={"name": "adam", "lr": 3e-3})


# The project's model: MMSE prior, preconditioned output, σ̂ head, noise-weighted loss.
PROJECT_HYPER = {"widths": [4, 8, 8], "blocks": 1, "groups": 4, "output": "precond",
                 "sigma_data": 0.05, "prior_components": 4, "error_head": True}  # fmt: skip


def project_spec(epochs: int) -> dict:
    return {**spec(epochs), "hyper": PROJECT_HYPER,
            "loss": {"weighting": "noise", "sigma_data": 0.05}}  # fmt: skip


def launch(
    shards: dict, out: Path, processes: int, epochs: int, model: dict | None = None
) -> subprocess.Popen:
    """A training run in its own process group (the kill reaches torchrun and its ranks)."""
    model = model or spec(epochs)
    args = (model, shards, str(out), train_options(processes=processes, threads=2))
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *(json.dumps(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def wait_for_epochs(out: Path, n: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    history = out / "history.csv"
    deadline = time.time() + timeout
    while not history.exists() or len(pd.read_csv(history)) < n:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() < deadline, f"fewer than {n} epochs after {timeout} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def single_and_two(shards, tmp_path_factory) -> dict[int, Path]:
    """The same run on 1 process and on 2 ranks (global batch 8 both)."""
    outs = {}
    for processes in (1, 2):
        outs[processes] = tmp_path_factory.mktemp(f"ddp{processes}")
        finish(launch(shards, outs[processes], processes, epochs=6))
    return outs


def test_two_ranks_follow_the_single_process_loss_curve(single_and_two):
    one = pd.read_csv(single_and_two[1] / "history.csv")
    two = pd.read_csv(single_and_two[2] / "history.csv")
    assert list(two["epoch"]) == list(range(1, 7))
    for column in ("train_loss", "val_loss", "val_rel_err"):
        np.testing.assert_allclose(two[column], one[column], rtol=RTOL, err_msg=column)
    assert two["train_loss"].iloc[-1] < two["train_loss"].iloc[0]  # it learned something
    card = json.loads((single_and_two[2] / "card.json").read_text())
    assert card["metrics"]["epochs_run"] == 6


def test_project_model_on_two_ranks_follows_the_single_process(shards, tmp_path):
    """The σ̂ head's likelihood and the noise weights go through DDP (the model is called with
    ``with_error`` through the wrapper) and through the global-batch normalization alike."""
    for processes in (1, 2):
        finish(launch(shards, tmp_path / str(processes), processes, 3, project_spec(3)))
    one = pd.read_csv(tmp_path / "1" / "history.csv")
    two = pd.read_csv(tmp_path / "2" / "history.csv")
    for column in ("train_loss", "val_loss", "val_rel_err", "val_coverage"):
        np.testing.assert_allclose(two[column], one[column], rtol=RTOL, err_msg=column)
    card = json.loads((tmp_path / "2" / "card.json").read_text())
    assert len(card["metrics"]["error_scale"]) > 0


def test_killed_run_resumes_on_two_ranks(shards, single_and_two, tmp_path):
    proc = launch(shards, tmp_path, 2, epochs=6)
    wait_for_epochs(tmp_path, 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job: the runner, torchrun, both ranks
    proc.wait()
    assert not (tmp_path / "model.pt").exists(), "training finished before it could be killed"
    out = finish(launch(shards, tmp_path, 2, epochs=6))
    assert 2 <= int(re.search(r"resuming after epoch (\d+)", out).group(1)) < 6
    resumed = pd.read_csv(tmp_path / "history.csv")
    straight = pd.read_csv(single_and_two[2] / "history.csv")
    np.testing.assert_allclose(resumed["val_loss"], straight["val_loss"], rtol=RTOL)


def test_a_dead_rank_fails_the_run_naming_it_and_the_rerun_resumes(shards, tmp_path):
    proc = launch(shards, tmp_path, 2, epochs=6)
    wait_for_epochs(tmp_path, 1, proc)
    ranks = [
        p
        for p in psutil.Process(proc.pid).children(recursive=True)
        if p.environ().get("RANK") == "1"
        and "pfsdenoise.learn.distributed" in " ".join(p.cmdline())
    ]
    assert ranks, "rank 1 not found"
    ranks[0].send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert re.search(r"rank 1 of 2 failed \(signal 9\)", out), out[-3000:]
    assert "rerun to resume" in out
    assert not (tmp_path / "model.pt").exists()
    rerun = finish(launch(shards, tmp_path, 2, epochs=6))
    assert "resuming after epoch" in rerun
    assert list(pd.read_csv(tmp_path / "history.csv")["epoch"]) == list(range(1, 7))


def test_a_state_of_another_world_size_is_refused(shards, single_and_two):
    with pytest.raises(TrainingError, match=r"written by a run on 2 data-parallel process"):
        train_model(
            "resunet", spec(6), shards["train"], shards["val"], single_and_two[2], seed=11,
            **train_options(processes=1),
        )  # fmt: skip
