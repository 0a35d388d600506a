"""A small model trained in seconds on stand-in shards (512 px), shared by the API tests."""

from __future__ import annotations

import numpy as np
import pytest

from pfsdenoise.learn.testdata import tiny_spec, train_options, write_toy_shard
from pfsdenoise.learn.train import train_model

WAVE = np.linspace(8400.0, 8700.0, 512)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """A tiny U-Net trained for a few epochs on 96 toy spectra; returns its ``model.pt``."""
    root = tmp_path_factory.mktemp("api_model")
    train = [write_toy_shard(root / f"train/{c}.parquet", 48, i, WAVE) for i, c in enumerate("ab")]
    val = [write_toy_shard(root / "val/a.parquet", 16, 7, WAVE, split="val")]
    spec = tiny_spec(
        "unet",
        epochs=8,
        hyper={"filters": [8, 8, 16, 16], "bottleneck": 16, "dropout": 0.0},
        optimizer={"name": "adam", "lr": 3e-3},
    )
    train_model(
        "unet",
        spec,
        train,
        val,
        root / "model",
        seed=5,
        **train_options(
            augment={
                "calibration_amplitude": 0.0,
                "calibration_scale": 100.0,
                "distort": "both",
                "where": "cpu",
            }
        ),
    )
    return root / "model" / "model.pt"


@pytest.fixture(scope="session")
def model(model_path):
    """The test model as a :class:`~pfsdenoise.denoise.api.SpectrumDenoiser` on the CPU."""
    from pfsdenoise.denoise.api import load_spectrum_denoiser

    return load_spectrum_denoiser(model_path, "cpu")
