"""Prediction shards, per-spectrum error tables and the alignment checks between them."""

import numpy as np
import pandas as pd
import pytest
from evaluate_helpers import WAVE

from pfsdenoise.evaluate.alignment import AlignmentError
from pfsdenoise.evaluate.errors import error_table, exact_batches
from pfsdenoise.evaluate.predict import baseline_denoiser, denoise_shard
from pfsdenoise.shards import read_shard, write_shard

METRICS = {
    "lines": {"ca2": [8500.36, 8544.44, 8664.52]},
    "line_half_width": 3.0,
    "min_truth": 0.01,
    "batch_size": 256,
}


@pytest.fixture(scope="module")
def identity_pred(shard_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pred") / "a.parquet"
    denoise_shard(
        shard_dir / "test" / "a.parquet",
        out,
        baseline_denoiser("identity"),
        method="identity",
        batch_size=7,
    )
    return out


def test_prediction_shard_keeps_ids_order_and_grid(shard_dir, identity_pred):
    test = read_shard(shard_dir / "test" / "a.parquet")
    pred = read_shard(identity_pred)
    assert list(pred.params["spectrum_id"]) == list(test.params["spectrum_id"])
    np.testing.assert_array_equal(pred.spectra["flux_denoised"], test.spectra["flux"])
    np.testing.assert_array_equal(pred.wave, test.wave)
    assert pred.metadata["method"] == "identity"


def test_identity_errors_equal_noisy_errors(shard_dir, identity_pred):
    table = error_table(
        [shard_dir / "test" / "a.parquet"], [identity_pred], **{**METRICS, "batch_size": 9}
    )
    assert len(table) == 40 and table["chunk"].eq("a").all()
    np.testing.assert_allclose(table["rel_mean"], table["noisy_rel_mean"])
    np.testing.assert_allclose(table["ratio_mean"], 1.0)
    for col in ("teff", "snr", "spectrum_id", "line_ca2_mean", "resid_sigma", "bias"):
        assert col in table


def _rewrite(src, dst, *, ids=None, order=None, wave=None):
    pred = read_shard(src)
    params = pred.params if ids is None else pd.DataFrame({"spectrum_id": ids})
    flux = pred.spectra["flux_denoised"]
    if order is not None:
        params, flux = params.iloc[order].reset_index(drop=True), flux[order]
    write_shard(dst, params, {"flux_denoised": flux}, pred.wave if wave is None else wave)
    return dst


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order": np.r_[1, 0, 2:40]}, "order differ"),
        ({"ids": [f"test/a/{i:06d}" for i in range(1, 41)]}, "ids differ"),
        ({"order": np.arange(39)}, "39 rows"),
        ({"wave": WAVE * (1 + 1e-4)}, "wavelength grid"),
    ],
)
def test_misaligned_predictions_are_errors(shard_dir, identity_pred, tmp_path, change, message):
    bad = _rewrite(identity_pred, tmp_path / "a.parquet", **change)
    with pytest.raises(AlignmentError, match=message):
        error_table([shard_dir / "test" / "a.parquet"], [bad], **METRICS)


def test_predictions_paired_with_wrong_chunk_are_errors(shard_dir, identity_pred):
    with pytest.raises(AlignmentError, match="chunk names differ"):
        error_table([shard_dir / "test" / "b.parquet"], [identity_pred], **METRICS)
    with pytest.raises(AlignmentError, match="every test"):
        error_table(
            [shard_dir / "test" / "a.parquet", shard_dir / "test" / "b.parquet"],
            [identity_pred],
            **METRICS,
        )


def test_exact_batches_rebatch_across_row_groups(shard_dir):
    sizes = [
        len(b.spectra["flux"]) for b in exact_batches(shard_dir / "test" / "a.parquet", 7, ["flux"])
    ]
    assert sizes == [7] * 5 + [5]
