"""Error statistics per parameter bin: empty bins, counts, bootstrap intervals, bad edges."""

import numpy as np
import pandas as pd
import pytest

from pfsdenoise.evaluate.binning import bin_statistics


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    snr = rng.uniform(1, 50, n)
    return pd.DataFrame({"snr": snr, "rel_mean": 0.8 / snr * rng.uniform(0.9, 1.1, n)})


def _bins(table, edges, n_boot=100):
    return bin_statistics(
        table, "snr", edges, ["rel_mean"], n_boot=n_boot, level=0.9, rng=np.random.default_rng(1)
    )


def test_counts_stats_and_empty_bins():
    table = _table()
    out = _bins(table, [1, 10, 50, 100, 200])
    assert list(out["count"]) == [int((table.snr < 10).sum()), int((table.snr >= 10).sum()), 0, 0]
    empty = out[out["count"] == 0]
    assert empty[["mean", "median", "p90", "max", "mean_lo", "mean_hi"]].isna().all().all()
    first = table[table.snr < 10]["rel_mean"]
    row = out.iloc[0]
    assert row["mean"] == pytest.approx(first.mean())
    assert row["p90"] == pytest.approx(np.percentile(first, 90))
    assert row["max"] == pytest.approx(first.max())
    assert row["mean_lo"] < row["mean"] < row["mean_hi"]
    assert row["median_lo"] <= row["median"] <= row["median_hi"]


def test_values_outside_edges_are_counted_not_binned():
    table = _table()
    out = _bins(table, [10, 20])
    assert out["count"].sum() == ((table.snr >= 10) & (table.snr <= 20)).sum()
    assert out.attrs["n_outside"] == len(table) - out["count"].sum()


def test_bootstrap_interval_narrows_with_more_data():
    wide = _bins(_table(40), [1, 50]).iloc[0]
    narrow = _bins(_table(4000), [1, 50]).iloc[0]
    assert (narrow["mean_hi"] - narrow["mean_lo"]) < (wide["mean_hi"] - wide["mean_lo"])


def test_bad_edges_and_columns():
    with pytest.raises(ValueError, match="increase"):
        _bins(_table(), [10, 5])
    with pytest.raises(KeyError, match="teff"):
        bin_statistics(
            _table(), "teff", [0, 1], ["rel_mean"], n_boot=0, level=0.9, rng=np.random.default_rng()
        )
