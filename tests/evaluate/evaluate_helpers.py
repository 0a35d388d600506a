"""Synthetic shards for the evaluation tests: smooth continuum, absorption lines (including the
Ca II triplet), Gaussian noise at S/N 3–100, a few masked pixels.

A module of its own (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pfsdenoise.shards import write_shard

N_PIX = 4096
WAVE = np.geomspace(7100.0, 8850.0, N_PIX)
PARAM_COLUMNS = (
    "teff", "logg", "mh", "alpha", "rv", "ebv", "mag", "zenith_angle", "field_angle", "seeing",
    "moon_zenith_angle", "moon_separation", "moon_phase", "exp_time", "n_exp", "airmass",
)  # fmt: skip


def make_batch(
    n: int, seed: int, split: str = "test", chunk: str = "c0"
) -> tuple[pd.DataFrame, dict]:
    """Shard content of ``n`` synthetic stars."""
    rng = np.random.default_rng(seed)
    x = (WAVE - WAVE.mean()) / np.ptp(WAVE)
    cont = 1.0 + rng.normal(0, 0.1, (n, 1)) * x + rng.normal(0, 0.05, (n, 1)) * x**2
    rv = rng.normal(0, 50, n)
    lines_rng = np.random.default_rng(0)  # one line list for every shard, as in real stars
    centres = np.concatenate([[8500.36, 8544.44, 8664.52], lines_rng.uniform(7150, 8800, 40)])
    depth = np.concatenate([[0.6, 0.7, 0.65], lines_rng.uniform(0.05, 0.4, 40)])
    depth = depth * rng.uniform(0.5, 1.5, (n, 1))
    shift = 1 + rv[:, None, None] / 299792.458
    lines = depth[:, :, None] * np.exp(
        -0.5 * ((WAVE[None, None, :] - centres[None, :, None] * shift) / 0.8) ** 2
    )
    truth = cont * np.prod(1 - lines, axis=1)
    snr = np.exp(rng.uniform(np.log(3), np.log(100), n))
    sigma = truth / snr[:, None] * rng.uniform(0.8, 1.2, (n, N_PIX))
    flux = truth + sigma * rng.standard_normal((n, N_PIX))
    mask = rng.random((n, N_PIX)) < 0.01
    norm = np.median(flux, axis=1)
    params = {c: rng.uniform(0, 1, n) for c in PARAM_COLUMNS}
    params.update(teff=rng.uniform(3500, 7500, n), logg=rng.uniform(0, 5, n),
                  mh=rng.uniform(-2.5, 0.75, n), rv=rv, airmass=rng.uniform(1, 1.4, n))  # fmt: skip
    frame = pd.DataFrame({"spectrum_id": [f"{split}/{chunk}/{i:06d}" for i in range(n)], **params})
    frame["snr"] = np.median(truth / sigma, axis=1)
    frame["norm"] = norm
    spectra = {
        "flux": flux / norm[:, None],
        "flux_true": truth / norm[:, None],
        "sigma": sigma / norm[:, None],
        "mask": mask,
    }
    return frame, spectra


def write_synthetic(path: Path, n: int, seed: int, split: str, chunk: str) -> Path:
    frame, spectra = make_batch(n, seed, split, chunk)
    return write_shard(
        path, frame, spectra, WAVE, units={"wave": "Angstrom (vacuum)"}, row_group_size=16
    )
