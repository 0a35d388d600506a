"""Training and the user-facing denoiser do not load the instrument simulator's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def simulator_modules_loaded_by(module: str) -> list[str]:
    """Modules of the observe step (and its extinction and filter-curve libraries) that
    importing ``module`` in a fresh interpreter loads."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [
        m
        for m in json.loads(out.stdout)
        if m.split(".")[0] in ("extinction", "speclite") or m.startswith("pfsdenoise.observe")
    ]


@pytest.mark.parametrize(
    "module",
    [
        "pfsdenoise.learn.train",
        "pfsdenoise.learn.data",
        "pfsdenoise.denoise.api",
        "pfsdenoise.denoise.model",
        "pfsdenoise.denoise.formats",
        "pfsdenoise.denoise.batch",
        "pfsdenoise.denoise.spectrum1d",
    ],
)
def test_module_does_not_load_the_simulator(module: str) -> None:
    assert simulator_modules_loaded_by(module) == []


def test_the_simulator_itself_is_seen() -> None:
    loaded = simulator_modules_loaded_by("pfsdenoise.simulate.chunk")
    assert "extinction" in loaded and "pfsdenoise.observe.pipeline" in loaded
