"""Per-S/N-bin tuning of baselines on validation spectra."""

import numpy as np
import pytest
from evaluate_helpers import make_batch

from pfsdenoise.evaluate.baselines.smoothing import ivar_gauss
from pfsdenoise.evaluate.predict import baseline_denoiser
from pfsdenoise.evaluate.tuning import (
    TunedBaseline,
    candidates,
    load_params,
    save_params,
    snr_bin_index,
    tune_per_snr_bin,
)


def test_low_snr_bins_pick_wider_kernels(tmp_path):
    _, s = make_batch(120, seed=5)
    tuned = tune_per_snr_bin(
        "gauss", ivar_gauss, s["flux"], s["flux_true"], s["sigma"], s["mask"],
        grid={"width": [0.5, 1.0, 2.0, 4.0, 8.0]}, fixed={}, snr_edges=[0, 8, 30, 1e6],
        min_truth=0.01, min_spectra=1,
    )  # fmt: skip
    widths = [p["width"] for p in tuned.per_bin]
    assert widths[0] >= widths[1] >= widths[2] and widths[0] > widths[2]
    assert sum(tuned.n_val) == 120
    save_params(tmp_path / "p.json", tuned)
    back = load_params(tmp_path / "p.json")
    assert back == tuned
    den = baseline_denoiser("gauss", tmp_path / "p.json")
    out = den.denoise(s["flux"], s["sigma"], s["mask"])
    assert out.shape == s["flux"].shape


def test_empty_bin_takes_overall_winner():
    _, s = make_batch(20, seed=6)
    tuned = tune_per_snr_bin(
        "gauss", ivar_gauss, s["flux"], s["flux_true"], s["sigma"], s["mask"],
        grid={"width": [1.0, 3.0]}, fixed={}, snr_edges=[1e5, 1e6, 1e7], min_truth=0.01,
        min_spectra=1,
    )  # fmt: skip
    assert tuned.n_val[1] == 0 and np.isnan(tuned.score[1])
    assert tuned.per_bin[1] in ({"width": 1.0}, {"width": 3.0})


def test_tuned_denoiser_applies_each_bins_parameters():
    from pfsdenoise.evaluate.tuning import TunedParams

    calls = []

    def fake(flux, sigma, mask, *, k):
        calls.append((k, len(flux)))
        return flux * 0 + k

    flux = np.stack([np.full(10, 2.0), np.full(10, 50.0)])  # S/N 2 and 50 with σ = 1
    den = TunedBaseline(fake, TunedParams("x", [0, 10, 100], [{"k": 1}, {"k": 2}]))
    out = den.denoise(flux, np.ones_like(flux), np.zeros_like(flux, bool))
    np.testing.assert_array_equal(out[:, 0], [1, 2])


def test_candidates_and_bins():
    assert (
        len(candidates({"window": [3, 5, 7], "order": [2, 4]}, "savgol")) == 5
    )  # (3,4) is dropped
    with pytest.raises(ValueError, match="no valid"):
        candidates({"window": [3], "order": [4]}, "savgol")
    np.testing.assert_array_equal(
        snr_bin_index(np.array([-1, 3, 50, np.nan, 1e9]), [0, 10, 100]), [0, 0, 1, 0, 1]
    )


def test_wrong_params_file_is_named(tmp_path):
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(ValueError, match=r"p\.json"):
        load_params(tmp_path / "p.json")


def test_sparse_bin_pooled_with_neighbours():
    """A bin with fewer validation spectra than min_spectra chooses on the pool with its
    neighbours; its own count and score are still reported."""
    _, s = make_batch(60, seed=8)
    snr = np.median(s["flux_true"] / s["sigma"], axis=1)
    edges = [0, float(np.sort(snr)[2]), 1e6]  # bin 0: the 2 noisiest spectra, bin 1: the rest
    args = (s["flux"], s["flux_true"], s["sigma"], s["mask"])
    kw = {"grid": {"width": [0.5, 2.0, 8.0, 32.0]}, "fixed": {}, "snr_edges": edges}
    alone = tune_per_snr_bin("gauss", ivar_gauss, *args, min_truth=0.01, min_spectra=1, **kw)
    pooled = tune_per_snr_bin("gauss", ivar_gauss, *args, min_truth=0.01, min_spectra=10, **kw)
    assert alone.n_val == pooled.n_val == [2, 58]
    assert alone.n_used == [2, 58] and pooled.n_used == [60, 58]
    assert pooled.per_bin[1] == alone.per_bin[1]  # bin 1 has enough of its own
    assert (
        pooled.per_bin[0]
        == tune_per_snr_bin(
            "gauss",
            ivar_gauss,
            *args,
            min_truth=0.01,
            min_spectra=1,
            **{**kw, "snr_edges": [0, 1e6]},
        ).per_bin[0]
    )  # bin 0 chose on all 60 spectra
    assert np.isfinite(pooled.score[0])
