"""Shared test data for the learn tests: a small wavelength grid and tiny model settings.

A module of its own (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

import numpy as np

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
