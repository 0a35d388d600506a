"""Stellar and observing parameter distributions, truncated to chunk ranges, with grid-hole redraws.

Each parameter has a distribution spec (config ``sampling``): ``{dist: uniform, low, high}``,
``{dist: beta, a, b, low, high}`` (Beta(a, b) stretched over [low, high]), ``{dist: normal, mean,
std}`` (optionally ``low``/``high``), ``{dist: fixed, value}`` or ``{dist: choice, values}``.
A chunk range (lo, hi) truncates the global distribution: values are drawn by inverse CDF from
[F(lo), F(hi)], so the union of chunks reproduces the global distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import stats

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.distributions import support, values_of

PARAM_ORDER = (
    "teff", "logg", "mh", "alpha", "rv", "ebv", "mag", "zenith_angle", "field_angle", "seeing",
    "moon_zenith_angle", "moon_separation", "moon_phase", "exp_time", "n_exp",
)  # fmt: skip


def _frozen(name: str, spec: Mapping) -> tuple[object | None, float, float]:
    """(scipy frozen distribution or None for fixed/choice, support low, support high)."""
    kind = spec.get("dist")
    try:
        lo, hi = support(spec)
    except ValueError:
        raise ValueError(
            f"sampling.{name}.dist = {kind!r}; use uniform, beta, normal, fixed, choice"
        ) from None
    if kind == "uniform":
        return stats.uniform(lo, hi - lo), lo, hi
    if kind == "beta":
        return stats.beta(float(spec["a"]), float(spec["b"]), loc=lo, scale=hi - lo), lo, hi
    if kind == "normal":
        return stats.norm(float(spec["mean"]), float(spec["std"])), lo, hi
    return None, lo, hi


def draw(name: str, spec: Mapping, n: int, rng: np.random.Generator, rng_range=None) -> np.ndarray:
    """Draw ``n`` values of one parameter, truncated to ``rng_range`` = (lo, hi) if given."""
    dist, lo, hi = _frozen(name, spec)
    if rng_range is not None:
        lo, hi = max(lo, float(rng_range[0])), min(hi, float(rng_range[1]))
        if lo > hi:
            raise ValueError(
                f"chunk range {name} = {tuple(rng_range)} does not meet the sampling support "
                f"[{_frozen(name, spec)[1]}, {_frozen(name, spec)[2]}]"
            )
    if dist is None:
        values = np.array(values_of(spec))
        values = values[(values >= lo) & (values <= hi)]
        return rng.choice(values, size=n).astype(np.float64)
    c_lo, c_hi = dist.cdf(lo), dist.cdf(hi)
    if not c_hi > c_lo:
        return np.full(n, lo if np.isfinite(lo) else hi)
    return np.clip(dist.ppf(rng.uniform(c_lo, c_hi, size=n)), lo, hi)


def sample_parameters(
    sampling: Mapping[str, Mapping],
    n: int,
    rng: np.random.Generator,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    accept: Callable[[np.ndarray], np.ndarray] | None = None,
    max_rounds: int = 100,
) -> dict[str, np.ndarray]:
    """Draw every parameter in ``PARAM_ORDER``; redraw stellar rows where ``accept`` (called on
    an (m, 4) teff/logg/mh/alpha array, e.g. grid.complete_cells) returns False."""
    ranges = dict(ranges or {})
    unknown = set(ranges) - set(PARAM_ORDER)
    if unknown:
        raise ValueError(f"unknown chunk range parameter(s) {sorted(unknown)}; use {PARAM_ORDER}")
    missing = set(PARAM_ORDER) - set(sampling)
    if missing:
        raise ValueError(f"sampling section lacks {sorted(missing)}")
    out = {p: draw(p, sampling[p], n, rng, ranges.get(p)) for p in PARAM_ORDER}
    if accept is not None:
        todo = np.arange(n)
        for _ in range(max_rounds):
            stellar = np.column_stack([out[p][todo] for p in STELLAR_AXES])
            todo = todo[~np.asarray(accept(stellar), dtype=bool)]
            if todo.size == 0:
                break
            for p in STELLAR_AXES:
                out[p][todo] = draw(p, sampling[p], todo.size, rng, ranges.get(p))
        else:
            raise ValueError(
                f"{todo.size} stellar parameter draws still fall in grid holes after "
                f"{max_rounds} rounds; narrow the chunk ranges {ranges} to the filled grid"
            )
    out["n_exp"] = out["n_exp"].astype(np.int64)
    return out
