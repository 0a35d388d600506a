"""A trained-model checkpoint goes through the same prediction and error path as the baselines."""

import numpy as np
import pytest
from evaluate_helpers import WAVE

from pfsdenoise.evaluate.errors import error_table
from pfsdenoise.evaluate.predict import denoise_shard
from pfsdenoise.shards import read_shard

torch = pytest.importorskip("torch")
checkpoint = pytest.importorskip("pfsdenoise.learn.checkpoint")
model_file = pytest.importorskip("pfsdenoise.denoise.model")
models = pytest.importorskip("pfsdenoise.learn.models")


def test_checkpoint_predictions_align_and_score(shard_dir, tmp_path):
    torch.manual_seed(0)
    hyper = {"filters": [4, 8], "bottleneck": 8}
    net = models.build_model("unet", WAVE.size, hyper)
    payload = checkpoint.model_payload(
        net, arch="unet", hyper=hyper, wave=WAVE, normalization={}, card={}
    )
    checkpoint.save_torch_atomic(tmp_path / "model.pt", payload)
    denoiser = model_file.load_model(tmp_path / "model.pt", device="cpu")
    test = shard_dir / "test" / "b.parquet"
    out = tmp_path / "pred" / "b.parquet"
    stats = denoise_shard(test, out, denoiser, method="tiny", batch_size=16)
    pred = read_shard(out)
    assert stats["n"] == 40 and stats["spectra_per_s"] > 0
    assert list(pred.params["spectrum_id"]) == list(
        read_shard(test, columns=["spectrum_id"]).params["spectrum_id"]
    )
    assert np.isfinite(pred.spectra["flux_denoised"]).all()
    table = error_table(
        [test], [out], lines={"ca2": [8500.36]}, line_half_width=3.0, min_truth=0.01, batch_size=64
    )
    assert len(table) == 40 and np.isfinite(table["rel_mean"]).all()
