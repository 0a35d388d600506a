"""Augmentation on the training device (torch) against the CPU path (numpy): same curves, same
noise statistics, reproducible per seed, a data-parallel rank's rows are its part of the batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from learn_helpers import WAVE

from pfsdenoise.learn.data import Augmentation, DataError, open_shards, training_batches
from pfsdenoise.learn.device_augment import fill_masked
from pfsdenoise.learn.testdata import AUGMENT, toy_spectra
from pfsdenoise.seeding import make_rng
from pfsdenoise.spectrum import fill_masked as fill_masked_numpy

AMPLITUDE, SCALE = 0.05, 60.0  # Å: several modes over the 300 Å test grid


def epoch(shards, where: str, key: str = "e0", **kw) -> list:
    aug = Augmentation(
        **{
            **AUGMENT,
            "where": where,
            "calibration_amplitude": AMPLITUDE,
            "calibration_scale": SCALE,
        }
    )
    return list(training_batches(open_shards(shards["train"]), 8, make_rng(1, key), aug, **kw))


def stacked(batches, name: str) -> np.ndarray:
    return np.concatenate([np.asarray(getattr(b, name)) for b in batches])


@pytest.fixture(scope="module")
def both(shards):
    return {where: epoch(shards, where) for where in ("cpu", "device")}


def test_device_batches_are_tensors_reproducible_per_seed(shards, both):
    first = both["device"]
    assert isinstance(first[0].flux, torch.Tensor) and first[0].flux.dtype == torch.float32
    again = epoch(shards, "device")
    other = epoch(shards, "device", key="e1")
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.flux, b.flux) and torch.equal(a.target, b.target)
    assert not np.allclose(stacked(first, "flux")[:8], stacked(other, "flux")[:8])


def test_same_spectra_order_and_calibration_curves_as_the_cpu_path(both):
    cpu, dev = both["cpu"], both["device"]
    np.testing.assert_array_equal(stacked(cpu, "ids"), stacked(dev, "ids"))
    np.testing.assert_array_equal(stacked(cpu, "weight"), stacked(dev, "weight"))
    good = stacked(cpu, "weight") > 0
    # distort both: target = truth x curve, drawn from the batch's numpy generator in both paths
    np.testing.assert_allclose(
        stacked(dev, "target")[good], stacked(cpu, "target")[good], rtol=1e-5
    )


def test_noise_and_calibration_statistics_match(shards, both):
    """Pull widths of the fresh noise, and the curves' rms and correlation length."""
    truth = {}
    for part in open_shards(shards["train"]).parts(0):
        truth.update(zip(part.params["spectrum_id"], part.spectra["flux_true"], strict=True))
    for part in open_shards(shards["train"]).parts(1):
        truth.update(zip(part.params["spectrum_id"], part.spectra["flux_true"], strict=True))
    stats = {}
    for where, batches in both.items():
        flux, target = stacked(batches, "flux"), stacked(batches, "target")
        sigma, good = stacked(batches, "sigma"), stacked(batches, "weight") > 0
        pulls = ((flux - target) / sigma)[good]
        curves = target / np.array([truth[i] for i in stacked(batches, "ids")])
        dev = np.where(good, curves - 1, np.nan)
        lag = 40  # pixels, ~ a quarter of the shortest scale
        corr = np.nanmean(dev[:, lag:] * dev[:, :-lag]) / np.nanmean(dev**2)
        stats[where] = (pulls.mean(), pulls.std(), np.sqrt(np.nanmean(dev**2)), corr)
    for where, (mean, std, rms, corr) in stats.items():
        assert abs(mean) < 0.02 and abs(std - 1) < 0.02, (where, mean, std)
        assert rms == pytest.approx(AMPLITUDE, rel=0.02), where
        assert 0.3 < corr < 1, where
    (_, s_cpu, r_cpu, c_cpu), (_, s_dev, r_dev, c_dev) = stats["cpu"], stats["device"]
    assert abs(s_cpu - s_dev) < 0.02
    assert r_cpu == pytest.approx(r_dev, rel=1e-4) and c_cpu == pytest.approx(c_dev, rel=1e-4)


@pytest.mark.parametrize("where", ["cpu", "device"])
def test_ranks_rows_make_up_the_single_process_batch(shards, where):
    whole = epoch(shards, where)
    parts = [epoch(shards, where, rank=r, world=2) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == len(whole)
    for full, a, b in zip(whole, *parts, strict=True):
        assert len(a) + len(b) == len(full) and abs(len(a) - len(b)) <= 1
        for name in ("ids", "flux", "target", "sigma", "weight"):
            joined = np.concatenate([np.asarray(getattr(a, name)), np.asarray(getattr(b, name))])
            np.testing.assert_array_equal(joined, np.asarray(getattr(full, name)))


def test_fill_masked_matches_numpy():
    rng = np.random.default_rng(0)
    flux = rng.random((40, 200)).astype(np.float32)
    bad = rng.random((40, 200)) < 0.3
    bad[0] = True  # nothing good: ones
    bad[1] = False
    bad[2, :9] = True  # before the first good pixel
    bad[3, -5:] = True  # after the last
    got = fill_masked(torch.from_numpy(flux), torch.from_numpy(bad)).numpy()
    np.testing.assert_allclose(got, fill_masked_numpy(flux, bad), rtol=1e-6)


def test_non_finite_truth_named_on_the_device_path(tmp_path):
    import pandas as pd

    from pfsdenoise.shards import write_shard

    arrays = toy_spectra(4, np.random.default_rng(0), WAVE)
    arrays.pop("snr")
    arrays["flux_true"][1, 5] = np.inf
    ids = [f"train/x/{i:06d}" for i in range(4)]
    path = write_shard(tmp_path / "x.parquet", pd.DataFrame({"spectrum_id": ids}), arrays, WAVE)
    aug = Augmentation(**{**AUGMENT, "where": "device"})
    with pytest.raises(DataError, match=r"flux_true.*train/x/000001.*pixel 5"):
        list(training_batches(open_shards([path]), 4, make_rng(0), aug))
