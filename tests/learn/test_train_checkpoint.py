"""Training loop outputs, weights-only model files, resume after a kill, NaN detection."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
from learn_helpers import WAVE

from pfsdenoise.denoise.model import load_model
from pfsdenoise.learn.checkpoint import CheckpointError, load_plain, rebuild
from pfsdenoise.learn.data import DataError, open_shards, validation_batches
from pfsdenoise.learn.testdata import tiny_spec, train_options
from pfsdenoise.learn.train import TrainingError, train_model
from pfsdenoise.spectrum import SpectrumArrayError


def train(shards, out, arch="dae", **over):
    spec = tiny_spec(arch, **over)
    return train_model(
        arch,
        spec,
        shards["train"],
        shards["val"],
        out,
        seed=3,
        **train_options(),
    )


@pytest.fixture(scope="module")
def trained(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    metrics = train(
        shards,
        out,
        "resunet",
        epochs=3,
        ema=0.9,
        optimizer={"name": "adamw", "lr": 3e-3},
        schedule={"name": "cosine", "warmup": 0.1, "final": 0.01},
    )
    return out, metrics


def test_outputs_and_card(trained, shards):
    out, _ = trained
    hist = pd.read_csv(out / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3]
    assert list(hist.columns) == [
        "epoch", "train_loss", "val_loss", "val_rel_err", "noisy_rel_err", "lr"
    ]  # fmt: skip
    assert np.isfinite(hist.to_numpy(float)).all()
    timing = pd.read_csv(out / "timing.csv")  # the machine-dependent numbers, kept apart
    assert list(timing["epoch"]) == [1, 2, 3]
    for col in ("wall_s", "samples_per_s", "loader_samples_per_s"):
        assert np.isfinite(timing[col]).all()
    card = json.loads((out / "card.json").read_text())
    assert card["arch"] == "resunet" and card["n_parameters"] > 0
    assert [d["path"] for d in card["data"]["train"]] == shards["train"]
    assert all(
        d["checksum"].startswith("sha256:") and d["provenance_checksum"]
        for d in card["data"]["val"]
    )
    assert card["metrics"]["val_loss"] == pytest.approx(hist["val_loss"].min(), rel=1e-5)
    assert (out / "state" / "last.pt").exists() and (out / "state" / "best.pt").exists()
    assert card["metrics"]["stopped"] == "epochs"
    assert json.loads((out / "model.pt.prov.json").read_text())["code_hash"] == "sha256:test"


def test_same_run_twice_gives_the_same_history(shards, tmp_path):
    """Deterministic: the same settings, seed and data give an identical history file."""
    for name in ("a", "b"):
        train(shards, tmp_path / name, "resunet", epochs=2)
    assert (tmp_path / "a/history.csv").read_bytes() == (tmp_path / "b/history.csv").read_bytes()


def test_edited_training_code_starts_over(shards, tmp_path, caplog):
    """The code hash joins the resume fingerprint: new code, training from scratch."""
    spec = tiny_spec("dae", epochs=2)
    args = ("dae", spec, shards["train"], shards["val"], tmp_path)
    train_model(*args, seed=3, **train_options())
    with caplog.at_level(logging.INFO):
        train_model(*args, seed=3, **train_options())
    assert "resuming after epoch 2 of 2" in caplog.text  # same code: the finished state
    caplog.clear()
    edited = train_options(provenance={"step": "train", "code_hash": "sha256:edited"})
    with caplog.at_level(logging.INFO):
        train_model(*args, seed=3, **edited)
    assert "resuming" not in caplog.text and "starting over" in caplog.text
    assert "epoch 1/2" in caplog.text
    record = json.loads((tmp_path / "model.pt.prov.json").read_text())
    assert record["code_hash"] == "sha256:edited"


def test_model_file_rebuilds_and_denoises(trained, shards):
    out, _ = trained
    raw = torch.load(out / "model.pt", weights_only=True)
    assert raw["arch"] == "resunet" and raw["wave"].numel() == WAVE.size
    den = load_model(out / "model.pt", device="cpu")
    np.testing.assert_allclose(den.wave, WAVE)
    assert den.card["metrics"]["best_epoch"] >= 1
    batch = next(validation_batches(open_shards(shards["val"]), 16))
    pred = den.denoise(batch.flux, batch.sigma, batch.mask)
    assert pred.shape == batch.flux.shape and pred.dtype == np.float32
    good = batch.weight > 0
    assert np.mean((pred - batch.target)[good] ** 2) < np.mean(
        (batch.flux - batch.target)[good] ** 2
    )
    np.testing.assert_allclose(
        den.denoise(batch.flux[0], batch.sigma[0], batch.mask[0]), pred[0], rtol=1e-5, atol=1e-6
    )
    with pytest.raises(SpectrumArrayError, match="expects 512"):
        den.denoise(batch.flux[:, :256], batch.sigma[:, :256], batch.mask[:, :256])
    with pytest.raises(SpectrumArrayError, match="differs from the model"):
        den.check_grid(WAVE * 1.001)


def test_other_architecture_refused(trained, tmp_path):
    out, _ = trained
    payload = load_plain(out / "model.pt")
    with pytest.raises(CheckpointError, match="architecture 'resunet', expected 'unet'"):
        rebuild(payload, out / "model.pt", arch="unet")
    payload["arch"] = "unet"
    torch.save(payload, tmp_path / "swapped.pt")
    with pytest.raises(CheckpointError, match=r"architecture 'unet': bad hyper-parameters"):
        load_model(tmp_path / "swapped.pt")


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = marker
    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as fh:
        pickle.dump({"format": "pfsdenoise-denoiser", "payload": exploit}, fh, protocol=2)
    torch.save({"format": "pfsdenoise-denoiser", "payload": exploit}, tmp_path / "evil2.pt")
    for path in (bad, tmp_path / "evil2.pt"):
        with pytest.raises(CheckpointError, match="refused"):
            load_model(path)
    assert not marker.exists()


def test_diverging_training_stops_with_location(shards, tmp_path):
    with pytest.raises(TrainingError, match=r"non-finite.*epoch 1, batch \d+"):
        train(shards, tmp_path, "dae", optimizer={"name": "sgd", "lr": 1e12}, epochs=1)


def test_grid_mismatch_between_train_and_val(shards, tmp_path):
    from pfsdenoise.learn.testdata import write_toy_shard

    other = write_toy_shard(tmp_path / "val.parquet", 4, 0, WAVE + 0.5)
    with pytest.raises(DataError, match="model expects"):
        train_model(
            "dae",
            tiny_spec(),
            shards["train"],
            [other],
            tmp_path / "m",
            seed=0,
            **train_options(),
        )


RUNNER = """
import sys, json, logging
logging.basicConfig(level=logging.INFO)
from pfsdenoise.learn.train import train_model
spec, shards, out, options = (json.loads(a) for a in sys.argv[1:5])
train_model("unet", spec, shards["train"], shards["val"], out, seed=5, **options)
"""


def run(spec, shards, out):
    args = (spec, shards, str(out), train_options())
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *(json.dumps(a) for a in args)],
        stderr=subprocess.PIPE,
        text=True,
    )


def test_resume_after_kill_matches_uninterrupted(shards, tmp_path):
    spec = tiny_spec(
        "unet",
        epochs=5,
        optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9},
        schedule={"name": "step", "every_epochs": 2, "factor": 0.5},
    )
    spec["batch_size"] = 4
    killed = tmp_path / "killed"
    proc = run(spec, shards, killed)
    history = killed / "history.csv"
    deadline = time.time() + 60
    while time.time() < deadline and (not history.exists() or len(pd.read_csv(history)) < 2):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (killed / "model.pt").exists(), "training finished before it could be killed"
    done_before = len(pd.read_csv(history))
    resumed = run(spec, shards, killed)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    resumed_from = int(re.search(r"resuming after epoch (\d+)", err).group(1))
    assert done_before <= resumed_from < 5  # from the last checkpoint, not from scratch
    straight = tmp_path / "straight"
    full = run(spec, shards, straight)
    _, err = full.communicate(timeout=120)
    assert full.returncode == 0, err
    a, b = pd.read_csv(killed / "history.csv"), pd.read_csv(straight / "history.csv")
    assert list(a["epoch"]) == list(range(1, 6))
    np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-4)


def test_state_of_an_edited_architecture_is_not_resumed(shards, tmp_path, monkeypatch):
    """Same settings, but the code builds other layers: training starts over instead of
    crashing on mismatched weights."""
    import pfsdenoise.learn.train as train_module

    train(shards, tmp_path, "dae", epochs=1)
    original = train_module.build_model

    def edited(arch, n_pix, hyper):
        return original(arch, n_pix, {**hyper, "hidden": [32]})

    monkeypatch.setattr(train_module, "build_model", edited)
    train(shards, tmp_path, "dae", epochs=2)
    assert list(pd.read_csv(tmp_path / "history.csv")["epoch"]) == [1, 2]


def test_rerun_of_a_finished_state_rewrites_deleted_outputs(shards, tmp_path):
    """Snakemake deletes a rerun job's declared outputs (model, history, card) but not the
    state: resuming the finished state must write them all again, history included."""
    train(shards, tmp_path, "dae", epochs=2)
    first = pd.read_csv(tmp_path / "history.csv")
    for name in ("model.pt", "history.csv", "card.json"):
        (tmp_path / name).unlink()
    train(shards, tmp_path, "dae", epochs=2)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "history.csv"), first)
    assert (tmp_path / "model.pt").exists() and (tmp_path / "card.json").exists()
