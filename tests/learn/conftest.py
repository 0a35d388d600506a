"""Small stand-in shards (512 pixels) and tiny model settings for the learn tests."""

from __future__ import annotations

import numpy as np
import pytest

from pfsdenoise.learn.testdata import write_toy_shard

WAVE = np.linspace(8400.0, 8700.0, 512)
AUGMENT = {"calibration_amplitude": 0.01, "calibration_scale": 100.0, "distort": "both"}


def tiny_spec(arch: str = "dae", epochs: int = 2, **over) -> dict:
    """Settings of a model that trains in about a second."""
    hyper = {
        "unet": {"filters": [4, 4, 8, 8], "bottleneck": 8, "dropout": 0.2},
        "dae": {"hidden": [64], "code": 16},
        "resunet": {"widths": [4, 8, 8], "blocks": 1, "groups": 4},
    }[arch]
    spec = {
        "arch": arch,
        "hyper": hyper,
        "epochs": epochs,
        "batch_size": 8,
        "optimizer": {"name": "adam", "lr": 1e-3},
        "schedule": {"name": "constant"},
        "ema": None,
    }
    spec.update(over)
    return spec


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    """Two training shards of 24 spectra and one validation shard of 16."""
    root = tmp_path_factory.mktemp("shards")
    train = [write_toy_shard(root / f"train/{c}.parquet", 24, i, WAVE) for i, c in enumerate("ab")]
    val = [write_toy_shard(root / "val/a.parquet", 16, 7, WAVE, split="val")]
    return {"train": [str(p) for p in train], "val": [str(p) for p in val]}
