"""Stand-in shards and tiny model settings for the tests and benchmarks: not a simulator, no
physics.

A smooth continuum (random slope and curvature) with Gaussian absorption lines at a few fixed
and random positions, Gaussian noise of a per-spectrum S/N, a few masked pixels, on the MR-arm
pixel grid. Written with :func:`pfsdenoise.shards.write_shard` in the shard contract's columns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pfsdenoise.configuration import fill_defaults
from pfsdenoise.shards import write_shard

MR_WAVE = np.linspace(7100.0, 8850.0, 4096)
"""Pixel centres of a 4096-pixel grid over the MR arm (710–885 nm), for stand-in data only."""


def toy_spectra(
    n: int, rng: np.random.Generator, wave: np.ndarray = MR_WAVE
) -> dict[str, np.ndarray]:
    """Noiseless flux, σ, noisy flux and mask for ``n`` stand-in spectra (median ≈ 1)."""
    x = (wave - wave.mean()) / np.ptp(wave)
    cont = 1 + rng.normal(0, 0.15, (n, 1)) * x + rng.normal(0, 0.1, (n, 1)) * x**2
    fixed = np.array([8500.4, 8544.4, 8664.5, 8185.5, 8197.1, 8809.2])
    centres = np.concatenate(
        [np.broadcast_to(fixed, (n, fixed.size)), rng.uniform(wave[0], wave[-1], (n, 30))], 1
    )
    depth = rng.uniform(0.05, 0.6, centres.shape)
    width = rng.uniform(0.6, 2.5, centres.shape)
    lines = np.zeros((n, wave.size))
    for j in range(centres.shape[1]):
        lines += depth[:, j : j + 1] * np.exp(
            -0.5 * ((wave - centres[:, j : j + 1]) / width[:, j : j + 1]) ** 2
        )
    truth = (cont * np.exp(-lines)).astype(np.float32)
    snr = np.exp(rng.uniform(np.log(3), np.log(100), (n, 1)))
    sigma = (np.sqrt(truth / snr**2 + (0.3 / snr) ** 2)).astype(np.float32)
    flux = truth + sigma * rng.standard_normal(truth.shape, dtype=np.float32)
    mask = rng.random(truth.shape) < 0.002
    return {"flux": flux, "flux_true": truth, "sigma": sigma, "mask": mask, "snr": snr[:, 0]}


def write_toy_shard(
    path: str | os.PathLike, n: int, seed: int, wave: np.ndarray = MR_WAVE, split: str = "train"
) -> Path:
    """Write ``n`` stand-in spectra as a shard at ``path``."""
    rng = np.random.default_rng(seed)
    arrays = toy_spectra(n, rng, wave)
    snr = arrays.pop("snr")
    chunk = Path(path).stem
    params = pd.DataFrame(
        {
            "spectrum_id": [f"{split}/{chunk}/{i:06d}" for i in range(n)],
            "teff": rng.uniform(3500, 7500, n),
            "snr": snr,
        }
    )
    return write_shard(
        path,
        params,
        arrays,
        wave,
        provenance={"step": "toy", "seed": seed},
        extra_metadata={"normalization": {"method": "median", "window": [7100.0, 8850.0]}},
    )


AUGMENT = {
    "calibration_amplitude": 0.01,
    "calibration_scale": 100.0,
    "distort": "both",
    "where": "cpu",
}


def train_options(**over: Any) -> dict[str, Any]:
    """Keyword arguments of ``train_model`` for the tests: the schema's defaults of the ``train``
    section, CPU, one thread, loader in the training thread, a stand-in provenance record."""
    section = fill_defaults({"models": {"toy": tiny_spec()}}, "train.schema.yaml")
    options = {
        "augment": AUGMENT,
        "device": "cpu",
        "threads": 1,
        "shuffle_buffer": section["shuffle_buffer"],
        "cache_mb": section["cache_mb"],
        "loader_workers": 0,
        "min_truth": 0.01,
        "provenance": {"step": "train", "code_hash": "sha256:test"},
        "processes": 1,
        "progress": False,
    }
    return {**options, **over}


def tiny_spec(arch: str = "dae", epochs: int = 2, **over: Any) -> dict:
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
    return fill_defaults(spec, "train.schema.yaml#/$defs/model")
