"""Shared fixtures for the observe tests: config sections, a noise table, a synthetic grid."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid
from pfsdenoise.observe.noise_table import build_noise_table, write_noise_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    return {k: cfg[k] for k in ("noise", "observe", "sampling")}


@pytest.fixture(scope="session")
def noise_table(config, tmp_path_factory) -> Path:
    """The default noise table (point source)."""
    path = tmp_path_factory.mktemp("noise") / "noise_table.npz"
    write_noise_table(path, build_noise_table(config["noise"]))
    return path


@pytest.fixture(scope="session")
def reference_noise_table(config, tmp_path_factory) -> Path:
    """Noise table for the ETC reference run's source: exponential profile, r_eff = 0.3"."""
    noise = copy.deepcopy(config["noise"])
    noise["source_effective_radius_arcsec"] = 0.3
    path = tmp_path_factory.mktemp("noise") / "noise_table_ref.npz"
    write_noise_table(path, build_noise_table(noise))
    return path


WAVE = log_uniform_wave(6600.0, 9050.0, 1.0 / 100000)  # R = 100000 sampling, log-uniform


def synthetic_spectrum(teff: float, seed: int) -> np.ndarray:
    """Blackbody × 80 Gaussian absorption lines: enough structure for shifts and LSF tests."""
    rng = np.random.default_rng(seed)
    bb = 1.0 / (WAVE**5 * np.expm1(1.4388e8 / (WAVE * teff)))
    centres = rng.uniform(6700, 8950, 80)
    depth = rng.uniform(0.1, 0.8, 80)
    lines = np.zeros_like(WAVE)
    for c, d in zip(centres, depth, strict=True):
        sel = np.abs(WAVE - c) < 3
        lines[sel] += d * np.exp(-0.5 * ((WAVE[sel] - c) / 0.4) ** 2)
    return bb / bb.mean() * 1e7 * np.clip(1 - lines, 0.05, None)


@pytest.fixture(scope="session")
def wave() -> np.ndarray:
    """Model wavelengths [Å]: log-uniform at R = 100000 sampling over 6600–9050 Å."""
    return WAVE


@pytest.fixture(scope="session")
def make_spectrum():
    """Factory of synthetic model spectra on ``WAVE``: (teff, seed) -> flux."""
    return synthetic_spectrum


@pytest.fixture(scope="session")
def grid(tmp_path_factory):
    """A 3×2×2×2 synthetic grid with one missing node (teff 7500, logg 0, mh −2.5, α −0.25)."""
    axes = {"teff": [3500, 5500, 7500], "logg": [0, 5], "mh": [-2.5, 0.75], "alpha": [-0.25, 0.5]}
    flux = np.empty((3, 2, 2, 2, WAVE.size), np.float32)
    for k, idx in enumerate(np.ndindex(flux.shape[:-1])):
        flux[idx] = synthetic_spectrum(axes["teff"][idx[0]], k)
    valid = np.ones(flux.shape[:-1], bool)
    valid[2, 0, 0, 0] = False
    path = tmp_path_factory.mktemp("grid") / "grid"
    write_grid(path, axes, WAVE, flux, valid=valid, source="observe test synthetic grid")
    return open_grid(path)
