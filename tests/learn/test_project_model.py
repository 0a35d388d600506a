"""The project's model options end to end: MMSE prior fitted before training, σ̂ head and its
coverage, model-file round trip, prediction shards with σ̂, the fall-back to the input at high
S/N, and knowledge distillation from a teacher."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.denoise.model import load_model
from pfsdenoise.evaluate.metrics import mean_relative_error
from pfsdenoise.evaluate.predict import denoise_shard
from pfsdenoise.learn.data import open_shards, validation_batches
from pfsdenoise.learn.epoch import train_epoch
from pfsdenoise.learn.models import build_model
from pfsdenoise.learn.testdata import tiny_spec, train_options
from pfsdenoise.learn.train import train_model
from pfsdenoise.logs import Progress
from pfsdenoise.shards import read_shard
from pfsdenoise.spectrum import SpectrumArrayError

PROJECT = {"widths": [4, 8, 8], "groups": 4, "output": "precond", "sigma_data": 0.05,
           "prior_components": 4, "error_head": True}  # fmt: skip
NOISE_LOSS = {"weighting": "noise", "sigma_data": 0.05}


def _train(shards, out, hyper, epochs=3):
    spec = tiny_spec("resunet", epochs=epochs, hyper=hyper, loss=NOISE_LOSS,
                     optimizer={"name": "adamw", "lr": 3e-3})  # fmt: skip
    return train_model("m", spec, shards["train"], shards["val"], out, seed=5, **train_options())


@pytest.fixture(scope="module")
def project(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("project")
    _train(shards, out, PROJECT)
    return out


def test_prior_is_fitted_saved_and_error_head_reported(project, shards):
    model = load_model(project / "model.pt", "cpu")
    assert model.has_error
    basis = model.model.prior.basis
    assert basis.shape == (4, 512) and torch.allclose(basis @ basis.T, torch.eye(4), atol=1e-4)
    hist = pd.read_csv(project / "history.csv")
    assert hist["val_coverage"].between(0, 1).all()


def test_denoise_with_error_round_trip(project, shards):
    den = load_model(project / "model.pt", "cpu")
    batch = next(validation_batches(open_shards(shards["val"]), 16))
    flux, sig_hat = den.denoise_with_error(batch.flux, batch.sigma, batch.mask)
    assert flux.dtype == sig_hat.dtype == np.float32 and flux.shape == sig_hat.shape
    assert (sig_hat > 0).all()
    np.testing.assert_allclose(flux, den.denoise(batch.flux, batch.sigma, batch.mask), atol=1e-6)
    _, one_err = den.denoise_with_error(batch.flux[0], batch.sigma[0], batch.mask[0])
    np.testing.assert_allclose(one_err, sig_hat[0], rtol=1e-5, atol=1e-7)


def test_prediction_shard_carries_sigma_hat_only_for_methods_that_have_it(
    project, shards, tmp_path
):
    den = load_model(project / "model.pt", "cpu")
    test = shards["val"][0]
    denoise_shard(test, tmp_path / "err.parquet", den, method="m", batch_size=8)
    got = read_shard(tmp_path / "err.parquet")
    assert set(got.spectra) == {DENOISED_COLUMN, DENOISED_ERR_COLUMN}
    assert (got.spectra[DENOISED_ERR_COLUMN] > 0).all()

    class Plain:
        def denoise(self, flux, sigma, mask):
            return flux

    denoise_shard(test, tmp_path / "plain.parquet", Plain(), method="identity", batch_size=8)
    assert set(read_shard(tmp_path / "plain.parquet").spectra) == {DENOISED_COLUMN}


def test_model_without_error_head_refuses_denoise_with_error(shards, tmp_path):
    _train(shards, tmp_path, {**PROJECT, "error_head": False}, epochs=1)
    den = load_model(tmp_path / "model.pt", "cpu")
    assert not den.has_error
    with pytest.raises(SpectrumArrayError, match="no uncertainty head"):
        den.denoise_with_error(np.ones((1, 512)), np.ones((1, 512)), np.zeros((1, 512), bool))


def test_falls_back_to_the_input_at_high_snr(project, shards, tmp_path):
    """At S/N 2000 (far above the training S/N, 3-100) the preconditioned model's error is the
    noisy input's, where a direct-output model of the same training is far worse."""
    val = read_shard(shards["val"][0])
    truth = val.spectra["flux_true"]
    sigma = (truth / 2000).astype(np.float32)
    noisy = truth + sigma * np.random.default_rng(0).standard_normal(truth.shape, np.float32)
    mask = np.zeros(truth.shape, bool)

    def error(flux):
        return np.mean(mean_relative_error(flux, truth, sigma, mask, 0.01))

    _train(shards, tmp_path, {**PROJECT, "output": "direct", "error_head": False})
    direct = load_model(tmp_path / "model.pt", "cpu").denoise(noisy, sigma, mask)
    ours = load_model(project / "model.pt", "cpu").denoise(noisy, sigma, mask)
    assert error(ours) < 1.05 * error(noisy)
    assert error(direct) > 3 * error(noisy)


def test_distillation_targets_are_the_teachers_outputs(shards, tmp_path):
    """A student trained on a teacher that outputs the continuum level (a direct-output model
    with its zero-initialized head) sees targets equal to its own start: zero loss, while the
    same student against the truth has a positive loss."""
    teacher = build_model("resunet", 512, {"widths": [4, 8], "groups": 2}).eval()
    student = build_model("resunet", 512, {"widths": [4, 8], "groups": 2})
    spec = tiny_spec("dae")
    batches = list(validation_batches(open_shards(shards["val"]), 8))

    def run(teach):
        opt = torch.optim.Adam(student.parameters(), lr=1e-3)
        return train_epoch(
            student, opt, batches, device=torch.device("cpu"), set_lr=lambda s: None,
            first_step=0, amp=False, clip_grad=None, after_step=lambda s: None,
            progress=Progress(1, "t", enabled=False), where="test", loss=spec["loss"],
            teacher=teach,
        ).loss  # fmt: skip

    assert run(teacher) == 0.0
    assert run(None) > 0.0


def test_teacher_model_file_is_recorded_on_the_card(project, shards, tmp_path):
    spec = tiny_spec("dae", epochs=1)
    train_model("s", spec, shards["train"], shards["val"], tmp_path, seed=5,
                teacher=project / "model.pt", **train_options())  # fmt: skip
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["data"]["teacher"][0]["checksum"].startswith("sha256:")


def test_sigma_hat_is_calibrated_on_validation_per_snr_bin(project, shards):
    """After training, |x̂ − x| < σ̂ holds for 68.3 % of the validation pixels of every S/N bin
    that has validation spectra (the calibration's own data, so up to quantile ties)."""
    den = load_model(project / "model.pt", "cpu")
    card = json.loads((project / "card.json").read_text())
    assert len(card["metrics"]["error_scale"]) == den.model.error_scale.numel()
    inside, bins = [], []
    for batch in validation_batches(open_shards(shards["val"]), 16):
        pred, sig_hat = den.denoise_with_error(batch.flux, batch.sigma, batch.mask)
        tensors = [torch.as_tensor(a) for a in (batch.flux, batch.sigma, batch.mask)]
        bins.append(den.model.error_bin(*tensors).numpy())
        inside.append(np.where(batch.weight > 0, np.abs(pred - batch.target) < sig_hat, np.nan))
    inside, bins = np.concatenate(inside), np.concatenate(bins)
    for b in np.unique(bins):
        assert np.nanmean(inside[bins == b]) == pytest.approx(0.683, abs=0.01)
