"""simulate_chunk: the shard contract of docs/DEVELOPMENT.md on a small synthetic grid."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from pfsdenoise.grid.interpolate import complete_cells
from pfsdenoise.simulate.chunk import simulate_chunk

SCALARS = [
    "teff", "logg", "mh", "alpha", "rv", "ebv", "mag", "zenith_angle", "field_angle", "seeing",
    "moon_zenith_angle", "moon_separation", "moon_phase", "exp_time", "n_exp", "airmass", "snr",
    "norm",
]  # fmt: skip


def _run(grid, noise_table, config, seed=3, n=40, ranges=None, observe=None):
    obs = dict(config["observe"], batch_size=16, **(observe or {}))
    return simulate_chunk(
        grid, str(noise_table), n, seed, config["sampling"], obs, ranges or {"teff": (5000, 7500)}
    )


def test_shard_contract(grid, noise_table, config):
    batch = _run(grid, noise_table, config)
    assert list(batch.params.columns) == SCALARS
    assert "spectrum_id" not in batch.params
    assert len(batch.params) == 40
    assert batch.params["teff"].between(5000, 7500).all()
    assert set(batch.spectra) == {"flux", "flux_true", "sigma", "mask"}
    for name in ("flux", "flux_true", "sigma"):
        assert batch.spectra[name].dtype == np.float32 and batch.spectra[name].shape == (40, 4096)
    assert batch.spectra["mask"].dtype == bool
    assert batch.wave.shape == (4096,) and 7100 < batch.wave[0] < batch.wave[-1] < 8850
    for key in ("units", "snr_definition", "normalization", "filter", "observe"):
        assert key in batch.metadata
    # no sample lies in a cell touching the missing node (teff 7500, logg 0, mh −2.5, α −0.25)
    p = batch.params
    stellar = np.array(p[["teff", "logg", "mh", "alpha"]].to_numpy(), copy=True)
    assert complete_cells(grid, stellar).all()
    assert (p.teff <= 5500).all()  # every cell above 5500 K touches the hole in this grid
    # the stored S/N follows its definition
    ratio = np.where(
        batch.spectra["mask"], np.nan, batch.spectra["flux_true"] / batch.spectra["sigma"]
    )
    assert np.allclose(np.nanmedian(ratio, axis=1), p["snr"], rtol=1e-4)


def test_deterministic_in_seed(grid, noise_table, config):
    a = _run(grid, noise_table, config, seed=5, n=12)
    b = _run(grid, noise_table, config, seed=5, n=12)
    c = _run(grid, noise_table, config, seed=6, n=12)
    pd.testing.assert_frame_equal(a.params, b.params)
    assert np.array_equal(a.spectra["flux"], b.spectra["flux"])
    assert not np.array_equal(a.spectra["flux"], c.spectra["flux"])


def test_calibration_distortion_leaves_truth_alone(grid, noise_table, config):
    calib = {"calibration": {"apply": True, "amplitude": 0.05, "scale": 500.0}}
    plain = _run(grid, noise_table, config, seed=8, n=8)
    bent = _run(grid, noise_table, copy.deepcopy(config), seed=8, n=8, observe=calib)
    raw_plain = plain.spectra["flux_true"] * plain.params["norm"].to_numpy()[:, None]
    raw_bent = bent.spectra["flux_true"] * bent.params["norm"].to_numpy()[:, None]
    assert np.allclose(raw_plain, raw_bent, rtol=1e-5)
    assert "flux and sigma" in bent.metadata["calibration_distortion"]
