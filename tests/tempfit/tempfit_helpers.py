"""A small synthetic grid whose line depths vary smoothly with every axis, and observations of it
through the real observe step (noise table from the real builder).

A module of its own (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from pfsdenoise.grid.interpolate import interpolate
from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.tempfit.fit import FitSettings

ROOT = Path(__file__).resolve().parents[2]
# R = 20000 sampling, the coarsest the MR arm accepts (config.yaml grid.resolution comment)
WAVE = log_uniform_wave(6600.0, 9050.0, 1.0 / 40000)
AXES = {"teff": [4000, 5000, 6000], "logg": [1.0, 3.0, 5.0], "mh": [-2.0, -1.0, 0.0],
        "alpha": [0.0, 0.4]}  # fmt: skip


def config() -> dict:
    """The repository's config.yaml (noise, observe, tempfit sections used)."""
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


def node_spectrum(teff: float, logg: float, mh: float, alpha: float) -> np.ndarray:
    """Blackbody × 300 absorption lines whose depth and width depend on all four parameters."""
    rng = np.random.default_rng(0)  # one line list for every node
    centres = rng.uniform(6650, 9000, 300)
    base = rng.uniform(0.05, 0.6, 300)
    sens = rng.normal(0, 1, (300, 4))
    x = np.array([(teff - 5000) / 1000, (logg - 3) / 2, mh + 1, alpha / 0.4 - 0.5])
    depth = np.clip(base * np.exp(0.4 * sens @ x), 0, 0.95)
    width = 0.3 + 0.1 * (logg < 2) + 0.05 * np.abs(sens[:, 1])
    bb = 1.0 / (WAVE**5 * np.expm1(1.4388e8 / (WAVE * teff)))
    lines = np.ones_like(WAVE)
    for c, d, w in zip(centres, depth, width, strict=True):
        sel = np.abs(WAVE - c) < 6 * w
        lines[sel] *= 1 - d * np.exp(-0.5 * ((WAVE[sel] - c) / w) ** 2)
    return bb / bb.mean() * 1e7 * lines


def make_grid(path: Path, missing: tuple[int, ...] | None = None, axes: dict | None = None):
    """Write and open the 3×3×3×2 grid (optionally with one missing node, or other axes)."""
    axes = axes or AXES
    shape = tuple(len(v) for v in axes.values())
    flux = np.empty((*shape, WAVE.size), np.float32)
    for idx in np.ndindex(shape):
        flux[idx] = node_spectrum(*(axes[a][i] for a, i in zip(axes, idx, strict=True)))
    valid = np.ones(shape, bool)
    if missing is not None:
        valid[missing] = False
    write_grid(path, axes, WAVE, flux, valid=valid, source="tempfit test grid")
    return open_grid(path)


def fit_settings(**overrides) -> FitSettings:
    """config.yaml's tempfit settings with the scan templates inside the test grid."""
    cfg = config()["tempfit"]
    cfg["scan"]["rv_templates"] = {"teff": [4000, 6000], "logg": [3.0], "mh": [-1.0]}
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            cfg[section][name] = value
        else:
            cfg[section] = value
    return FitSettings.from_config(cfg)


def observe(grid, observer: Observer, stellar: np.ndarray, rv, mag, seed: int, ebv=0.05):
    """Observed spectra of ``stellar`` (n, 4) at ``rv`` [km/s] and ``mag`` through the
    observe step, at fixed mid-range observing conditions."""
    n = len(stellar)
    full = lambda v: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()  # noqa: E731
    params = {
        "rv": full(rv), "ebv": full(ebv), "mag": full(mag), "zenith_angle": full(30.0),
        "field_angle": full(0.3), "seeing": full(0.8), "moon_zenith_angle": full(100.0),
        "moon_separation": full(90.0), "moon_phase": full(0.0), "exp_time": full(900.0),
        "n_exp": full(12),
    }  # fmt: skip
    return observer.observe(interpolate(grid, stellar), params, np.random.default_rng(seed))
