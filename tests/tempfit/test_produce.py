"""Shard-level fits: the oracle's prediction shard and fit table, the downstream fits of a
method, their summary table, and the method adapter through ``denoise_shard``."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tempfit_helpers import config

from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.evaluate.predict import denoise_shard
from pfsdenoise.evaluate.predictions import write_predictions
from pfsdenoise.shards import ShardError, read_shard, write_shard
from pfsdenoise.simulate.chunk import simulate_chunk
from pfsdenoise.tempfit.columns import NOT_FITTED
from pfsdenoise.tempfit.method import TemplateFitMethod
from pfsdenoise.tempfit.produce import fit_method_shards, fit_test_shard, fit_test_shards
from pfsdenoise.tempfit.recovery import NOISY, write_downstream


@pytest.fixture(scope="module")
def test_shard(tmp_path_factory, grid, noise_table):
    cfg = config()
    sampling = {**cfg["sampling"], "mag": {"dist": "uniform", "low": 18.5, "high": 20.0}}
    batch = simulate_chunk(grid, str(noise_table), 4, 3, sampling, cfg["observe"], {})
    params = batch.params.copy()
    params.insert(0, "spectrum_id", [f"test/c/{i:06d}" for i in range(4)])
    path = tmp_path_factory.mktemp("shards") / "c.parquet"
    write_shard(path, params, batch.spectra, batch.wave, units={"wave": "Angstrom"})
    return path


@pytest.fixture(scope="module")
def oracle(tmp_path_factory, test_shard, fitter):
    out = tmp_path_factory.mktemp("tempfit")
    fit_test_shard(test_shard, out / "pred.parquet", out / "fits.parquet", fitter, max_spectra=3)
    return out


def test_oracle_writes_aligned_predictions_with_sigma(oracle, test_shard):
    test = read_shard(test_shard)
    pred = read_shard(oracle / "pred.parquet")
    assert list(pred.params["spectrum_id"]) == list(test.params["spectrum_id"])
    flux, sig = pred.spectra[DENOISED_COLUMN], pred.spectra[DENOISED_ERR_COLUMN]
    assert np.isfinite(flux[:3]).all() and np.isnan(flux[3]).all()  # the 4th is not in the subset
    truth = test.spectra["flux_true"]
    ok = ~test.spectra["mask"][:3]
    assert np.median(np.abs(flux[:3] - truth[:3])[ok] / test.spectra["sigma"][:3][ok]) < 0.3
    assert (sig[:3] > 0).all()


def test_fit_table_has_status_errors_and_bound(oracle):
    fits = read_shard(oracle / "fits.parquet").params
    assert list(fits["status"]) == ["ok", "ok", "ok", NOT_FITTED]
    for p in ("teff", "logg", "mh", "alpha", "rv"):
        assert np.isfinite(fits[f"{p}_fit"][:3]).all() and np.isnan(fits[f"{p}_fit"][3])
        assert (fits[f"{p}_err"][:3] > 0).all() and (fits[f"crb_{p}"][:3] > 0).all()
        assert {p, f"cov_{p}_{p}"} <= set(fits.columns)
    assert (fits["dof"][:3] > 3000).all()


def test_downstream_of_a_perfect_denoiser(tmp_path, oracle, test_shard, fitter):
    """The noiseless spectra as a 'method': its fit is the truth, and the noisy fit started
    from it converges at once into the blind fit's minimum."""
    test = read_shard(test_shard)
    ids = np.asarray(test.params["spectrum_id"], dtype=object)
    pred = tmp_path / "perfect.parquet"
    write_predictions(test_shard, pred, ids, test.spectra["flux_true"], None, method="perfect")
    out = tmp_path / "down.parquet"
    index = tmp_path / "index.json"
    fit_method_shards(
        [test_shard], [pred], [out], fitter, method="perfect", provenance={"step": "test"},
        index=index, sigma_source="provided", max_spectra=3,
    )  # fmt: skip
    listed = json.loads(index.read_text())
    assert listed["method"] == "perfect" and [f["path"] for f in listed["fits"]] == [str(out)]
    down = read_shard(out).params
    assert list(down["status"][:3]) == ["ok"] * 3 and list(down["seeded_status"][:3]) == ["ok"] * 3
    np.testing.assert_allclose(down["teff_fit"][:3], test.params["teff"][:3], atol=2.0)
    fits = read_shard(oracle / "fits.parquet").params
    np.testing.assert_allclose(down["seeded_chi2"][:3], fits["chi2"][:3], atol=1.0)
    assert (down["seeded_n_eval"][:3] < fits["n_eval"][:3]).all()
    outputs = {k: str(tmp_path / f"downstream.{k}") for k in ("md", "csv", "seeded")}
    write_downstream(
        [str(oracle / "fits.parquet")], {"perfect": [str(out)]}, outputs,
        edges=[0, 1000], outlier_nsigma=5.0, sigma_note="input σ", provenance={"step": "test"},
    )  # fmt: skip
    recovery = pd.read_csv(outputs["csv"])
    assert set(recovery["source"]) == {NOISY, "perfect"}
    md = Path(outputs["md"]).read_text()
    assert "## RV [km/s]" in md and "from perfect" in md


def test_method_adapter_gives_sigma_through_denoise_shard(tmp_path, test_shard, fitter):
    out = tmp_path / "pred.parquet"
    denoise_shard(test_shard, out, TemplateFitMethod(fitter), method="tempfit", batch_size=2)
    pred = read_shard(out)
    assert pred.spectra[DENOISED_ERR_COLUMN].shape == pred.spectra[DENOISED_COLUMN].shape
    assert np.isfinite(pred.spectra[DENOISED_ERR_COLUMN]).all()


def test_a_shard_on_other_pixels_is_refused(tmp_path, test_shard, fitter):
    test = read_shard(test_shard)
    other = tmp_path / "other.parquet"
    write_shard(other, test.params, test.spectra, test.wave + 1.0)
    with pytest.raises(ShardError, match="forward model observes"):
        fit_test_shard(other, tmp_path / "p.parquet", tmp_path / "f.parquet", fitter)


def test_oracle_job_over_chunks_goes_on_past_a_bad_shard_and_indexes_none(
    tmp_path, test_shard, fitter
):
    test = read_shard(test_shard)
    other = tmp_path / "other.parquet"
    write_shard(other, test.params, test.spectra, test.wave + 1.0)  # refused: other pixels
    preds, fits = (
        [tmp_path / "p0.parquet", tmp_path / "p1.parquet"],
        [tmp_path / "f0", tmp_path / "f1"],
    )
    index = tmp_path / "index.json"
    with pytest.raises(RuntimeError, match=r"1 of 2 shards failed: .*other\.parquet"):
        fit_test_shards(
            [other, test_shard], preds, fits, fitter, provenance=lambda s: {"step": s},
            index=index, max_spectra=1,
        )  # fmt: skip
    assert preds[1].exists() and fits[1].exists()  # the good shard was fitted after the bad one
    assert not index.exists()  # an index only for a complete job


def test_downstream_job_over_chunks_goes_on_past_a_bad_prediction_and_indexes_none(
    tmp_path, test_shard, fitter
):
    test = read_shard(test_shard)
    ids = np.asarray(test.params["spectrum_id"], dtype=object)
    good = tmp_path / "good.parquet"
    write_predictions(test_shard, good, ids, test.spectra["flux_true"], None, method="m")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file")
    outs, index = [tmp_path / "d0.parquet", tmp_path / "d1.parquet"], tmp_path / "index.json"
    with pytest.raises(RuntimeError, match=r"1 of 2 shards failed: "):
        fit_method_shards(
            [test_shard, test_shard], [bad, good], outs, fitter, method="m",
            provenance={"step": "test"}, index=index, sigma_source="provided", max_spectra=1,
        )  # fmt: skip
    assert not outs[0].exists() and outs[1].exists()  # the good chunk was fitted after the bad
    assert not index.exists()  # an index only for a complete job


def test_oracle_job_index_lists_its_predictions(tmp_path, test_shard, fitter):
    preds, fits = [tmp_path / "p.parquet"], [tmp_path / "f.parquet"]
    index = tmp_path / "index.json"
    fit_test_shards([test_shard], preds, fits, fitter, provenance=lambda s: {"step": s},
                    index=index, max_spectra=1)  # fmt: skip
    listed = json.loads(index.read_text())
    assert listed["method"] == "tempfit"
    assert [e["path"] for e in listed["predictions"]] == [str(preds[0])]
