"""Coverage of σ̂: the statistics on a synthetic case with known σ, and the table over shards."""

import numpy as np
import pandas as pd

from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.evaluate.coverage import NOMINAL, coverage_table, markdown, pixel_z, z_statistics
from pfsdenoise.shards import write_shard


def test_calibrated_sigma_covers_nominal_fractions():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.5, 1.5, (200, 1000))
    sigma = rng.uniform(0.01, 0.2, truth.shape)
    pred = truth + sigma * rng.standard_normal(truth.shape)
    stats = z_statistics(pixel_z(pred, sigma, truth, np.zeros(truth.shape, bool)))
    for key, nominal in NOMINAL.items():
        assert abs(stats[key] - nominal) < 0.005
    assert abs(stats["z_std"] - 1) < 0.01 and abs(stats["z_scatter"] - 1) < 0.01
    # σ̂ twice too large: |z| < 1 whenever |error| < 2σ
    wide = z_statistics(pixel_z(pred, 2 * sigma, truth, np.zeros(truth.shape, bool)))
    assert abs(wide["within_1sigma"] - NOMINAL["within_2sigma"]) < 0.005
    assert abs(wide["z_scatter"] - 0.5) < 0.01


def test_masked_and_unusable_pixels_are_left_out():
    truth = np.ones((1, 4))
    pred = np.array([[1.0, 5.0, np.nan, 1.5]])
    sigma = np.array([[1.0, 1.0, 1.0, 0.0]])
    z = pixel_z(pred, sigma, truth, np.array([[False, True, False, False]]))
    assert np.isfinite(z).sum() == 1 and z[0, 0] == 0.0


def _shards(root, rng):
    n, n_pix = 30, 4096
    wave = np.linspace(7100, 8850, n_pix)
    truth = rng.uniform(0.5, 1.5, (n, n_pix))
    sigma = np.full((n, n_pix), 0.05)
    params = pd.DataFrame({"spectrum_id": [f"test/a/{i:06d}" for i in range(n)],
                           "snr": np.repeat([3.0, 30.0], n // 2)})  # fmt: skip
    test = write_shard(root / "test.parquet", params, {"flux_true": truth,
                       "mask": np.zeros((n, n_pix), bool)}, wave)  # fmt: skip
    pred = truth + sigma * rng.standard_normal(truth.shape)
    ids = params[["spectrum_id"]]
    with_err = write_shard(root / "a.parquet", ids,
                           {DENOISED_COLUMN: pred, DENOISED_ERR_COLUMN: sigma}, wave)  # fmt: skip
    without = write_shard(root / "b.parquet", ids, {DENOISED_COLUMN: pred}, wave)
    return test, with_err, without


def test_table_has_a_row_per_bin_for_methods_with_sigma_only(tmp_path):
    test, a, b = _shards(tmp_path, np.random.default_rng(1))
    table = coverage_table([str(test)], {"a": [str(a)], "b": [str(b)]}, [0, 10, 100])
    assert list(table["method"]) == ["a", "a"]
    assert list(table["n_spectra"]) == [15, 15]
    assert np.allclose(table["within_1sigma"], NOMINAL["within_1sigma"], atol=0.01)
    assert "| a | 0–10 | 15 |" in markdown(table)
    assert "no method gives" in markdown(table.iloc[:0])
