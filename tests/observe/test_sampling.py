"""Parameter sampling: distributions, truncation to chunk ranges, determinism, hole redraws."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from pfsdenoise.simulate.sampling import PARAM_ORDER, draw, sample_parameters

BETA = {"dist": "beta", "a": 0.7, "b": 0.7, "low": 3500.0, "high": 7500.0}


def test_chunks_truncate_the_global_distribution():
    """Drawing each chunk in proportion to its probability mass reproduces the global law."""
    rng = np.random.default_rng(0)
    edges = [3500.0, 4500.0, 5800.0, 7500.0]
    dist = stats.beta(0.7, 0.7, loc=3500, scale=4000)
    parts = []
    for lo, hi in itertools.pairwise(edges):
        n = round(20000 * (dist.cdf(hi) - dist.cdf(lo)))
        x = draw("teff", BETA, n, rng, (lo, hi))
        assert x.min() >= lo and x.max() <= hi
        parts.append(x)
    assert stats.kstest(np.concatenate(parts), dist.cdf).pvalue > 0.01


def test_beta_puts_weight_at_the_edges():
    x = draw("teff", BETA, 20000, np.random.default_rng(1))
    edge = np.mean((x < 3900) | (x > 7100))  # outer 20 % of the range
    assert edge > 0.25  # uniform would give 0.20


def test_normal_fixed_choice():
    rng = np.random.default_rng(2)
    x = draw(
        "rv", {"dist": "normal", "mean": 0.0, "std": 300.0, "low": -900, "high": 900}, 5000, rng
    )
    assert abs(x.std() - 300) < 15 and x.min() >= -900 and x.max() <= 900
    assert np.all(draw("exp_time", {"dist": "fixed", "value": 900.0}, 3, rng) == 900.0)
    assert set(draw("n_exp", {"dist": "choice", "values": [12, 16, 20]}, 200, rng)) == {12, 16, 20}


def test_deterministic_and_redraws_holes(config):
    def accept(p):  # a "hole": no cool dwarfs
        return ~((p[:, 0] < 4500) & (p[:, 1] > 4))

    a = sample_parameters(config["sampling"], 500, np.random.default_rng(9), accept=accept)
    b = sample_parameters(config["sampling"], 500, np.random.default_rng(9), accept=accept)
    assert set(a) == set(PARAM_ORDER)
    for k in PARAM_ORDER:
        assert np.array_equal(a[k], b[k])
    assert np.all(accept(np.column_stack([a[k] for k in ("teff", "logg", "mh", "alpha")])))
    assert a["n_exp"].dtype == np.int64


def test_bad_specs_are_named(config):
    with pytest.raises(ValueError, match=r"sampling\.teff\.dist = 'gamma'"):
        draw("teff", {"dist": "gamma"}, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="chunk range teff"):
        draw("teff", BETA, 3, np.random.default_rng(0), (8000, 9000))
    with pytest.raises(ValueError, match="unknown chunk range"):
        sample_parameters(config["sampling"], 3, np.random.default_rng(0), {"vsini": (0, 1)})
    with pytest.raises(ValueError, match="grid holes"):
        sample_parameters(
            config["sampling"], 3, np.random.default_rng(0), accept=lambda p: p[:, 0] < 0,
            max_rounds=3,
        )  # fmt: skip
