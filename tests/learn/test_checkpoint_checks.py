"""Model files are checked before a model is built (issue 13, row 5): structure, hyper-parameters
against the stored tensors' shapes, and the memory the hyper-parameters imply; a full disk
while training saves its state is named, and the previous state survives it."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import torch
from learn_helpers import WAVE

from pfsdenoise.denoise.model import load_model
from pfsdenoise.errors import OutputWriteError, explain
from pfsdenoise.learn import checkpoint
from pfsdenoise.learn.checkpoint import CheckpointError, model_payload, rebuild
from pfsdenoise.learn.models import build_model
from pfsdenoise.learn.testdata import tiny_spec, train_options
from pfsdenoise.learn.train import train_model


def _payload(hyper=None, **over):
    hyper = hyper or {"hidden": [32], "code": 8}
    model = build_model("dae", WAVE.size, hyper)
    payload = model_payload(model, arch="dae", hyper=hyper, wave=WAVE, normalization=None,
                            card={})  # fmt: skip
    payload.update(over)
    return payload


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_huge_hyper_parameters_are_refused_before_any_allocation(tmp_path):
    """A weights-only file with `hidden: [1e9]` asked for 16 TB; a few-GB value went through.
    Both are refused before anything is built."""
    before = _max_rss_mb()
    for width in (10**9, 2_000_000):  # 4 TB, and 8 GB of weights at 512 pixels
        bad = _payload()  # the small model's tensors, hyper-parameters of a huge one
        bad["hyper"] = {"hidden": [width], "code": 8}
        path = tmp_path / "model.pt"
        torch.save(bad, path)
        with pytest.raises(CheckpointError, match=r"imply .* MB of weights, more than the 4096 MB"):
            load_model(path, device="cpu")
    assert _max_rss_mb() - before < 500  # nothing near the implied size was allocated


def test_memory_bound_is_configurable(tmp_path):
    payload = _payload()
    with pytest.raises(CheckpointError, match=r"more than the 0\.1 MB allowed"):
        rebuild(payload, "m.pt", max_mb=0.1)
    assert rebuild(payload, "m.pt", max_mb=10) is not None


def test_hyper_parameters_must_match_the_stored_tensors():
    payload = _payload()
    payload["hyper"] = {"hidden": [48], "code": 8}  # consistent neither with the tensors
    with pytest.raises(CheckpointError, match=r"weights do not fit architecture 'dae'.*48"):
        rebuild(payload, "m.pt")
    payload = _payload()
    payload["state_dict"]["extra.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match=r"unexpected \['extra.weight'\]"):
        rebuild(payload, "m.pt")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda p: p.pop("wave"), r"entry 'wave' is missing"),  # before: KeyError: 'wave'
        (lambda p: p.update(hyper=[1, 2]), r"entry 'hyper' is list, expected dict"),
        (lambda p: p.update(wave=torch.zeros(3, 3)), r"'wave' must be an increasing 1-D"),
        (lambda p: p.update(format_version="x"), r"newer than this pfsdenoise reads"),
        (lambda p: p["hyper"].update(hidden=[-5]), r"hyper-parameters .* cannot build"),
        (lambda p: p.update(arch="transformer"), r"unknown architecture 'transformer'"),
    ],
)
def test_malformed_model_files_are_refused_with_the_file_named(tmp_path, edit, match):
    payload = _payload()
    edit(payload)
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=match) as info:
        load_model(path, device="cpu")
    assert str(path) in str(info.value)


def test_truncated_model_file_is_named(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(_payload(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=rf"{path}: not a readable torch checkpoint"):
        load_model(path, device="cpu")


def test_full_disk_while_saving_the_training_state(shards, tmp_path, monkeypatch):
    """Before: `RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos 5056
    vs 4950`. After: the file is named, and the previous state is kept: the rerun resumes."""
    spec = tiny_spec("dae", epochs=1)
    args = ("dae", spec, shards["train"], shards["val"], tmp_path)
    train_model(*args, seed=3, **train_options())
    last = tmp_path / "state" / "last.pt"
    saved = last.read_bytes()
    real_save = torch.save

    def full_disk(obj, where, *a, **k):
        if str(where).endswith(".pt") and "last" in str(where):
            raise RuntimeError(
                "[enforce fail at inline_container.cc:672] . unexpected pos 5056 vs 4950"
            )
        return real_save(obj, where, *a, **k)

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    spec2 = tiny_spec("dae", epochs=2)
    with pytest.raises(OutputWriteError) as info:
        train_model("dae", spec2, shards["train"], shards["val"], tmp_path, seed=3,
                    **train_options())  # fmt: skip
    _, message = explain(info.value)
    assert str(last) in message and "writing failed" in message and "MB free" in message
    assert last.read_bytes() == saved  # the state of epoch 1 is intact
    assert not [p for p in last.parent.iterdir() if p.name.startswith(".")]  # no temporary
    monkeypatch.setattr(checkpoint.torch, "save", real_save)
    train_model("dae", spec2, shards["train"], shards["val"], tmp_path, seed=3, **train_options())
    assert np.isfinite(torch.load(last, weights_only=True)["best"]["val_loss"])
