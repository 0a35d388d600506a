"""Training straight from the grid: the torch port of the observe step against the numpy one,
fresh batches with the shards' statistics, the simulator's errors for bad parameters."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.denoise.model import load_model
from pfsdenoise.grid.interpolate import OutOfGridError, interpolate
from pfsdenoise.grid.store import log_uniform_wave, write_grid
from pfsdenoise.learn.data import Augmentation, LoaderClock
from pfsdenoise.learn.generate import masked_median, open_grid_source
from pfsdenoise.learn.testdata import AUGMENT, tiny_spec, train_options, write_toy_shard
from pfsdenoise.learn.train import train_model
from pfsdenoise.observe.doppler_torch import doppler_shift
from pfsdenoise.observe.noise_table import ConditionError, build_noise_table, write_noise_table
from pfsdenoise.observe.star import doppler_shift as doppler_shift_numpy
from pfsdenoise.spectrum import masked_median as masked_median_numpy

ROOT = Path(__file__).parents[2]
CPU = torch.device("cpu")
RTOL = 1e-5  # float32 in another order than numpy's


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture(scope="module")
def source_args(config, tmp_path_factory) -> dict:
    """A 3×2×2×2 grid of smooth spectra with lines (R = 50000 sampling) and a noise table."""
    root = tmp_path_factory.mktemp("gridsource")
    wave = log_uniform_wave(6600.0, 9050.0, 1e-5)
    axes = {"teff": [4000, 5000, 6000], "logg": [1, 4], "mh": [-1, 0], "alpha": [0, 0.4]}
    rng = np.random.default_rng(0)
    flux = np.empty((3, 2, 2, 2, wave.size), np.float32)
    for idx in np.ndindex(flux.shape[:-1]):
        teff = axes["teff"][idx[0]]
        bb = 1 / (wave**5 * np.expm1(1.4388e8 / (wave * teff)))
        lines = np.zeros_like(wave)
        for c in rng.uniform(6700, 8950, 40):
            lines += 0.5 * np.exp(-0.5 * ((wave - c) / 0.4) ** 2)
        flux[idx] = bb / bb.mean() * 1e7 * np.clip(1 - lines, 0.05, None)
    write_grid(root / "grid", axes, wave, flux, source="test_generate grid")
    write_noise_table(root / "noise.npz", build_noise_table(config["noise"]))
    return {
        "grid_dir": str(root / "grid"),
        "noise_table": str(root / "noise.npz"),
        "sampling": config["sampling"],
        "observe": config["observe"],
        "chunks": [
            {"name": "cool", "teff": [4000, 5000], "sampling": {}},
            {"name": "hot", "teff": [5000, 6000], "sampling": {}},
        ],
        "spectra_per_epoch": 24,
    }


@pytest.fixture(scope="module")
def source(source_args):
    return open_grid_source(**source_args)


def test_torch_observer_equals_the_numpy_observe_step(source):
    params = source.parameters(12, np.random.default_rng(1))
    torch_observer = source.device_observer(CPU)
    stellar = np.column_stack([params[a] for a in STELLAR_AXES])
    expected = source.observer.noiseless(
        interpolate(source.grid, stellar), params["rv"], params["ebv"], params["mag"]
    )
    got = torch_observer.noiseless(params).numpy()
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL * float(expected.max()))
    terms = source.observer.noise_terms(params)
    sigma, mask = source.observer.sigma_and_mask(expected, terms)
    sigma_t, mask_t = torch_observer.sigma_and_mask(torch.as_tensor(expected), terms)
    np.testing.assert_array_equal(mask_t.numpy(), mask)
    np.testing.assert_allclose(sigma_t.numpy(), sigma, rtol=RTOL)


def test_torch_doppler_shift_and_median_equal_numpy():
    rng = np.random.default_rng(2)
    flux = rng.random((4, 300)).astype(np.float32)
    shifts = np.array([3.4, -12.75, 0.0, 150.2])
    log_step = 1e-5
    rv = np.expm1(shifts * log_step) * 299792.458
    np.testing.assert_allclose(
        doppler_shift(torch.as_tensor(flux), torch.as_tensor(shifts)).numpy(),
        doppler_shift_numpy(flux, rv, log_step),
        rtol=1e-5,
    )
    stacked = np.stack([flux, 2 * flux], axis=1)  # (n, k, n_samples): each k shifted alike
    np.testing.assert_allclose(
        doppler_shift(torch.as_tensor(stacked), torch.as_tensor(shifts)).numpy()[:, 1],
        2 * doppler_shift_numpy(flux, rv, log_step),
        rtol=1e-5,
    )
    values = rng.normal(size=(30, 9)).astype(np.float32)
    values[3, 2] = np.nan
    valid = rng.random((30, 9)) < 0.6
    valid[0] = False
    np.testing.assert_array_equal(
        masked_median(torch.as_tensor(values), torch.as_tensor(valid)).numpy(),
        masked_median_numpy(values, valid),
    )


def epoch(source, key: int, **kw) -> list:
    aug = Augmentation(**{**AUGMENT, "where": "device"})
    options = {"shuffle_buffer": 0, "clock": LoaderClock(), "workers": 0, "rank": 0, "world": 1,
               "device": CPU, **kw}  # fmt: skip
    return list(source.batches(8, np.random.default_rng(key), aug, **options))


def test_fresh_batches_reproducible_with_shard_statistics(source):
    a, b, c = epoch(source, 3), epoch(source, 3), epoch(source, 4)
    assert len(a) == 3 and a[0].flux.shape == (8, 4096)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.flux, y.flux)
    assert not torch.equal(a[0].target, c[0].target)
    flux = torch.cat([x.flux for x in a])
    target = torch.cat([x.target for x in a])
    sigma = torch.cat([x.sigma for x in a])
    good = torch.cat([x.weight for x in a]) > 0
    pulls = ((flux - target) / sigma)[good]
    assert abs(float(pulls.std()) - 1) < 0.03 and abs(float(pulls.mean())) < 0.03
    # median-normalized like a shard row (the normalizing draw is another one than the input's)
    assert float(target.median(dim=1).values.median()) == pytest.approx(1.0, abs=0.05)


def test_ranks_rows_make_up_the_batch(source):
    whole = epoch(source, 5)
    parts = [epoch(source, 5, rank=r, world=2) for r in (0, 1)]
    for full, a, b in zip(whole, *parts, strict=True):
        np.testing.assert_allclose(torch.cat([a.target, b.target]), full.target, rtol=RTOL)
        np.testing.assert_allclose(torch.cat([a.flux, b.flux]), full.flux, rtol=RTOL, atol=1e-6)


def test_bad_parameters_fail_as_in_the_simulator(source):
    params = source.parameters(2, np.random.default_rng(6))
    outside = copy.deepcopy(params)
    outside["teff"][1] = 9000.0
    with pytest.raises(OutOfGridError, match=r"teff = 9000 is outside the grid range"):
        source.spectra(outside, 0, CPU)
    bad_seeing = copy.deepcopy(params)
    bad_seeing["seeing"][0] = 5.0
    with pytest.raises(ConditionError, match=r"seeing = 5\.0 is outside the noise table"):
        source.spectra(bad_seeing, 0, CPU)
    far = copy.deepcopy(params)
    far["rv"][0] = 2.0e5
    with pytest.raises(ValueError, match="shifts the MR arm off the grid"):
        source.spectra(far, 0, CPU)


def test_train_model_from_the_grid(source, source_args, tmp_path):
    val = [write_toy_shard(tmp_path / "val.parquet", 8, 7, source.wave, split="val")]
    spec = tiny_spec("dae", epochs=2)
    metrics = train_model(
        "dae", spec, source_args, val, tmp_path / "model", seed=1,
        **train_options(augment={**AUGMENT, "where": "device"}),
    )  # fmt: skip
    assert metrics["epochs_run"] == 2
    card = yaml.safe_load((tmp_path / "model" / "card.json").read_text())
    assert {Path(d["path"]).name for d in card["data"]["train"]} >= {"flux.npy", "noise.npz"}


def test_a_chunks_own_sampling_is_drawn_for_its_share(source_args):
    """A chunk's ``sampling`` (the bright chunk's magnitudes) replaces the global one for that
    chunk's share of each epoch only, as in the simulated shards."""
    bright = {"mag": {"dist": "fixed", "value": 17.0}}
    chunks = [source_args["chunks"][0], {**source_args["chunks"][1], "sampling": bright}]
    params = open_grid_source(**{**source_args, "chunks": chunks}).parameters(
        10, np.random.default_rng(3)
    )
    hot = params["teff"] > 5000
    assert (params["mag"] == 17.0).sum() == 5
    assert (params["mag"][~hot] != 17.0).all()


def test_project_model_prior_is_fitted_from_the_grid(source, source_args, tmp_path):
    """With the grid source the MMSE prior is fitted on one epoch's worth of noiseless spectra
    drawn from the grid (deterministic in the seed)."""
    val = [write_toy_shard(tmp_path / "val.parquet", 8, 7, source.wave, split="val")]
    hyper = {"widths": [4, 8, 8], "blocks": 1, "groups": 4, "prior_components": 4}
    bases = []
    for run in ("a", "b"):
        train_model(
            "resunet", tiny_spec("resunet", epochs=1, hyper=hyper), source_args, val,
            tmp_path / run, seed=1, **train_options(augment={**AUGMENT, "where": "device"}),
        )  # fmt: skip
        bases.append(load_model(tmp_path / run / "model.pt", "cpu").model.prior.basis)
    assert bases[0].shape == (4, source.wave.size)
    torch.testing.assert_close(bases[0] @ bases[0].T, torch.eye(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(bases[0], bases[1], atol=0, rtol=0)
