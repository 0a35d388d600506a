"""Recovery statistics: robust scatter, bias, outliers and convergence on a known sample."""

import numpy as np
import pandas as pd

from pfsdenoise.tempfit.columns import PARAMS
from pfsdenoise.tempfit.recovery import recovery_table, robust_scatter, seeded_table


def test_robust_scatter_of_a_gaussian_with_outliers():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(3.0, 2.0, 20000), rng.uniform(-1e3, 1e3, 500)])
    assert np.std(x) > 50  # the outliers dominate the standard deviation,
    assert abs(robust_scatter(x) - 2.0) < 0.1  # not the robust scatter (2.4 % contamination: +3 %)


def _table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"spectrum_id": [f"s{i}" for i in range(n)], "snr": rng.uniform(1, 9, n),
                          "status": "ok"})  # fmt: skip
    crb = pd.DataFrame({"spectrum_id": frame["spectrum_id"]})
    for p in PARAMS:
        frame[p] = rng.uniform(0, 1, n)
        crb[f"crb_{p}"] = 0.1
        frame[f"{p}_fit"] = frame[p] + 0.5 + rng.normal(0, 0.2, n)  # bias 0.5, scatter 2 CRB
    frame.loc[:99, "rv_fit"] = frame.loc[:99, "rv"] + 10.0  # 5 % far outliers
    frame.loc[100:199, "status"] = "not_converged"
    frame["chi2"] = 1000.0
    frame["n_iter"], frame["n_eval"] = 8, 20
    return frame, crb


def test_recovery_table_statistics():
    frame, crb = _table()
    out = recovery_table({"m": frame}, crb, [0, 5, 10], outlier_nsigma=5.0)
    row = out[(out["param"] == "teff")].iloc[0]
    assert abs(row["bias"] - 0.5) < 0.03 and abs(row["scatter_crb"] - 2.0) < 0.15
    assert abs(row["converged"] - 0.95) < 0.02
    rv = out[out["param"] == "rv"]
    # 5σ = 0.5 away from the truth: the bias alone makes half the sample outliers
    assert (rv["outliers"] > 0.45).all()


def test_seeded_table_counts_same_lower_and_higher_minima():
    blind, _ = _table(n=300)
    seeded = blind.copy()
    for c in ("status", "chi2", "n_iter", "n_eval", "rv_fit"):
        seeded[f"seeded_{c}"] = seeded[c]
    seeded["seeded_chi2"] = blind["chi2"] + np.repeat([0.0, -5.0, 5.0], 100)
    seeded["seeded_n_eval"] = 4
    out = seeded_table(blind, {"m": seeded}, [0, 100])
    row = out[out["start"] == "from m"].iloc[0]
    both = blind["status"] == "ok"
    d = (seeded["seeded_chi2"] - blind["chi2"])[both]
    assert abs(row["same"] - np.mean(d == 0)) < 1e-12 and abs(row["lower"] - np.mean(d < 0)) < 1e-12
    assert row["n_eval"] == 4.0 and out.iloc[0]["n_eval"] == 20.0
