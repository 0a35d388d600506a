"""The augmented training stream and the fixed validation batches."""

from __future__ import annotations

import numpy as np
import pytest
from learn_helpers import WAVE

from pfsdenoise.learn.data import (
    Augmentation,
    DataError,
    open_shards,
    training_batches,
    validation_batches,
)
from pfsdenoise.learn.testdata import AUGMENT, write_toy_shard
from pfsdenoise.seeding import make_rng
from pfsdenoise.spectrum import prepare_inputs


def epoch(shards, seed_key, **aug):
    s = open_shards(shards["train"])
    batches = list(
        training_batches(s, 8, make_rng(1, seed_key), Augmentation(**{**AUGMENT, **aug}))
    )
    order = np.concatenate([b.ids for b in batches])
    return batches, order


def test_epoch_covers_all_spectra_once_and_mixes_shards(shards):
    batches, ids = epoch(shards, "e0")
    assert sorted(ids) == sorted(f"train/{c}/{i:06d}" for c in "ab" for i in range(24))
    assert {i.split("/")[1] for i in batches[0].ids} == {"a", "b"} or len(batches[0]) < 4


def test_fresh_noise_each_epoch_reproducible_per_seed(shards):
    a, _ = epoch(shards, "e0")
    b, _ = epoch(shards, "e0")
    c, _ = epoch(shards, "e1")
    np.testing.assert_array_equal(a[0].flux, b[0].flux)
    first = dict(
        zip(np.concatenate([x.ids for x in a]), np.concatenate([x.flux for x in a]), strict=True)
    )
    other = dict(
        zip(np.concatenate([x.ids for x in c]), np.concatenate([x.flux for x in c]), strict=True)
    )
    key = next(iter(first))
    assert not np.allclose(first[key], other[key])


def test_noise_matches_sigma_and_distortion_placement(shards):
    both, _ = epoch(shards, "e0", calibration_amplitude=0.05, calibration_scale=100.0)
    inp, _ = epoch(
        shards, "e0", calibration_amplitude=0.05, calibration_scale=100.0, distort="input"
    )
    b, i = both[0], inp[0]
    good = b.weight > 0
    z = ((b.flux - b.target) / b.sigma)[good]
    assert abs(z.std() - 1) < 0.05  # noise drawn with the (distorted) σ around the target
    # input-only: same input draw, target is the undistorted truth
    np.testing.assert_allclose(b.flux, i.flux)
    ratio = (b.target / i.target)[good]
    assert 0.01 < ratio.std() < 0.2


def test_validation_uses_stored_flux(shards):
    v1 = list(validation_batches(open_shards(shards["val"]), 8))
    v2 = list(validation_batches(open_shards(shards["val"]), 8))
    np.testing.assert_array_equal(v1[0].flux, v2[0].flux)


def test_masked_pixels_filled_and_weightless():
    flux = np.array([[1.0, np.nan, 3.0, 4.0]], np.float32)
    sigma = np.array([[0.1, 0.1, -1.0, 0.1]], np.float32)
    mask = np.array([[False, False, False, True]])
    filled, sig, bad = prepare_inputs(flux, sigma, mask)
    assert bad.tolist() == [[False, True, True, True]]
    np.testing.assert_allclose(filled, [[1, 1, 1, 1]])
    assert np.isfinite(sig).all() and sig[0, 1] == 10.0


def test_other_grid_refused(shards, tmp_path):
    other = write_toy_shard(tmp_path / "x.parquet", 4, 0, WAVE + 1.0)
    with pytest.raises(DataError, match="wavelength grid"):
        open_shards([*shards["train"], other])
    with pytest.raises(DataError, match="model expects"):
        open_shards(shards["val"], expect_wave=WAVE[:-16])


def test_nan_in_unmasked_truth_named(tmp_path):
    import pandas as pd

    from pfsdenoise.learn.testdata import toy_spectra
    from pfsdenoise.shards import write_shard

    arrays = toy_spectra(4, np.random.default_rng(0), WAVE)
    arrays.pop("snr")
    arrays["flux_true"][2, 17] = np.nan
    arrays["mask"][2, 17] = False
    ids = [f"train/x/{i:06d}" for i in range(4)]
    path = write_shard(tmp_path / "x.parquet", pd.DataFrame({"spectrum_id": ids}), arrays, WAVE)
    with pytest.raises(DataError, match=r"flux_true.*train/x/000002.*pixel 17"):
        list(training_batches(open_shards([path]), 4, make_rng(0), Augmentation(**AUGMENT)))
