"""Comparison table: best method per S/N bin and each model's ratio to the best baseline."""

import numpy as np
import pandas as pd

from pfsdenoise.evaluate.table import NOISY, comparison_table, markdown_table


def _bins(values, noisy):
    rows = []
    for metric, vals in (("rel_mean", values), ("noisy_rel_mean", noisy)):
        for b, v in enumerate(vals):
            rows.append({"metric": metric, "bin": b, "lo": [0, 10][b], "hi": [10, 100][b],
                         "count": 0 if np.isnan(v) else 5, "mean": v})  # fmt: skip
    return pd.DataFrame(rows)


def test_markdown_marks_best_and_model_ratio():
    noisy = [0.10, 0.01]
    bins = {
        "unet": _bins([0.02, 0.012], noisy),
        "identity": _bins(noisy, noisy),
        "pca": _bins([0.04, 0.006], noisy),
    }
    long = comparison_table(bins)
    assert set(long["method"]) == {"unet", "identity", "pca", NOISY}
    md = markdown_table(long, ["unet"], ["identity", "pca"])
    low, high = (
        line for line in md.splitlines() if line.startswith("| 0–10") or line.startswith("| 10–100")
    )
    assert "**2**" in low and low.rstrip(" |").endswith("0.50")  # unet wins: 0.02 / 0.04
    assert "**0.6**" in high and high.rstrip(" |").endswith("2.00")  # pca wins: 0.012 / 0.006


def test_empty_bin_is_a_dash():
    bins = {"pca": _bins([0.04, np.nan], [0.1, np.nan])}
    md = markdown_table(comparison_table(bins), [], ["pca"])
    assert "| 10–100 | 0 | — | — |" in md


def test_oracle_ratio_is_paired_over_the_oracles_spectra():
    from pfsdenoise.evaluate.table import oracle_ratios, ratio_markdown

    ids = ["s0", "s1", "s2", "s3"]
    snr = [3.0, 4.0, 30.0, 40.0]
    oracle = pd.DataFrame({"spectrum_id": ids, "snr": snr, "rel_mean": [0.01, np.nan, 0.002, 0.002],
                           "noisy_rel_mean": [0.3, 0.2, 0.03, 0.03]})  # fmt: skip
    # the method is poor on s1, which the oracle did not fit: it must not enter the ratio
    method = pd.DataFrame({"spectrum_id": ids, "snr": snr, "rel_mean": [0.02, 9.0, 0.004, 0.008],
                           "noisy_rel_mean": [0.3, 0.2, 0.03, 0.03]})  # fmt: skip
    ratios = oracle_ratios({"tempfit": oracle, "m": method}, [0, 10, 100], oracle="tempfit")
    got = ratios.set_index(["method", "bin"])
    assert got.loc[("m", 0), "ratio"] == 2.0 and got.loc[("m", 0), "n_paired"] == 1
    assert got.loc[("m", 1), "ratio"] == 3.0
    assert got.loc[(NOISY, 0), "ratio"] == 30.0
    md = ratio_markdown(ratios, ["m"], "tempfit")
    assert "| 0–10 | 1 | 30.00 | 2.00 |" in md


def test_oracle_is_never_the_bold_winner():
    noisy = [0.10, 0.01]
    bins = {"pca": _bins([0.04, 0.006], noisy), "tempfit": _bins([0.01, 0.001], noisy)}
    md = markdown_table(comparison_table(bins), [], ["pca"], oracles=["tempfit"])
    low = next(line for line in md.splitlines() if line.startswith("| 0–10"))
    assert "**4**" in low and "| 1 |" in low
    assert "`tempfit` not ranked" in md  # the caption says why the lowest value is not bold
