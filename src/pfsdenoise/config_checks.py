"""Checks of a configuration that a JSON schema cannot express: ordered ranges, physically
possible values, and settings of different sections that must agree. Run (by
:mod:`pfsdenoise.configuration`) on a schema-valid configuration with its defaults filled, before
any job; every message names the key, what is wrong and what to do.

What is checked:

* every range and bin list is ordered: sampling ``low < high``, chunk ranges, grid and noise-table
  axes, error-bin and S/N edges, wavelength windows;
* sampling draws only possible values: exposure time, seeing > 0, ``n_exp`` a count >= 1,
  angles and the Moon phase in their ranges, E(B-V) >= 0;
* chunk ranges meet the sampling ranges (a chunk truncates them: an empty truncation draws
  nothing), and what a chunk draws lies inside the grid axes; observing conditions inside the
  noise table's axes;
* the grid's wavelengths cover the arm with its LSF window at every sampled Doppler shift; the
  normalization window, the metric line windows and the Ca II zoom fall on the arm;
* ``noise.arm.n_pix`` fits every model's down-sampling (:mod:`pfsdenoise.learn.geometry`);
* PCA components fit the training set.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pfsdenoise.constants import C_KMS, STELLAR_AXES
from pfsdenoise.distributions import support, values_of
from pfsdenoise.learn.geometry import GeometryError, check_n_pix

# The values a sampled parameter can physically take: (low, high, low inclusive, why).
PHYSICAL = {
    "teff": (0.0, math.inf, False, "an effective temperature is > 0 K"),
    "exp_time": (0.0, math.inf, False, "an exposure time is > 0 s"),
    "n_exp": (1.0, math.inf, True, "a number of exposures is >= 1"),
    "seeing": (0.0, math.inf, False, "a seeing FWHM is > 0 arcsec"),
    "ebv": (0.0, math.inf, True, "E(B-V) is >= 0 mag"),
    "zenith_angle": (0.0, 90.0, True, "a target above the horizon has zenith angle in [0, 90) deg"),
    "field_angle": (0.0, math.inf, True, "a field angle is >= 0 deg"),
    "moon_zenith_angle": (0.0, 180.0, True, "a zenith angle lies in [0, 180] deg"),
    "moon_separation": (0.0, 180.0, True, "an angular separation lies in [0, 180] deg"),
    "moon_phase": (0.0, 1.0, True, "the lunar phase lies in [0, 1] (0 = new, 0.5 = full)"),
}
# Observing conditions looked up in the noise table (noise.table.<name>).
TABLE_CONDITIONS = ("zenith_angle", "field_angle", "seeing")


def semantic_errors(config: Mapping[str, Any]) -> Iterator[str]:
    """Every problem of a schema-valid configuration, one line each."""
    yield from _sampling(config["sampling"])
    yield from _chunks(config)
    yield from _conditions(config)
    yield from _wavelengths(config)
    yield from _models(config)
    yield from _ordered_lists(config)
    yield from _pca(config)


def _ordered(values: Sequence[float]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def _interval(lo: float, hi: float) -> str:
    return f"[{lo:g}, {hi:g}]"


def _sampling(sampling: Mapping[str, Any]) -> Iterator[str]:
    for name, spec in sampling.items():
        key = f"sampling.{name}"
        if "low" in spec and "high" in spec and not spec["low"] < spec["high"]:
            yield (
                f"{key}: low = {spec['low']:g} is not below high = {spec['high']:g}; give "
                "low < high (or dist: fixed for a single value)"
            )
            continue
        lo, hi = support(spec)
        if name in PHYSICAL:
            p_lo, p_hi, inclusive, why = PHYSICAL[name]
            low_ok = lo >= p_lo if inclusive else lo > p_lo
            if not (low_ok and hi <= p_hi):
                yield f"{key}: draws from {_interval(lo, hi)}, but {why}; change its range"
        if name == "n_exp":
            values = values_of(spec)
            if values is None or any(float(v) != int(v) for v in values):
                yield (
                    f"{key}: n_exp is a count; give dist: fixed {{value: N}} or dist: choice "
                    "{values: [...]} with whole numbers"
                )


def _chunks(config: Mapping[str, Any]) -> Iterator[str]:
    chunks = config["simulate"]["chunks"]
    names = [c["name"] for c in chunks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"simulate.chunks: chunk name {name!r} is used twice; names must be unique"
    axes = config["grid"]["axes"]
    for i, chunk in enumerate(chunks):
        for axis in STELLAR_AXES:
            key = f"simulate.chunks.{i}.{axis}"
            lo, hi = support(config["sampling"][axis])
            node_lo, node_hi = min(axes[axis]), max(axes[axis])
            grid_axis = f"the grid axis grid.axes.{axis} {_interval(node_lo, node_hi)}"
            if axis in chunk:
                c_lo, c_hi = chunk[axis]
                if not c_lo < c_hi:
                    yield f"{key}: range {chunk[axis]} is empty; give [low, high] with low < high"
                    continue
                if c_lo > hi or c_hi < lo:  # the chunk truncates the sampling to nothing
                    off_grid = c_lo > node_hi or c_hi < node_lo
                    yield (
                        f"{key}: range {_interval(c_lo, c_hi)} does not meet sampling.{axis} "
                        f"{_interval(lo, hi)}"
                        + (f" and lies outside {grid_axis}" if off_grid else "")
                        + "; move the chunk inside them"
                    )
                    continue
                lo, hi = max(lo, c_lo), min(hi, c_hi)
            if lo < node_lo or hi > node_hi:
                where = key if axis in chunk else f"sampling.{axis} (chunk {chunk['name']!r})"
                yield (
                    f"{where}: draws {axis} in {_interval(lo, hi)}, outside {grid_axis}; "
                    "narrow the range or extend the grid"
                )


def _conditions(config: Mapping[str, Any]) -> Iterator[str]:
    table = config["noise"]["table"]
    for name in TABLE_CONDITIONS:
        lo, hi = support(config["sampling"][name])
        if lo < min(table[name]) or hi > max(table[name]):
            yield (
                f"sampling.{name}: draws from {_interval(lo, hi)}, outside the noise table's "
                f"axis noise.table.{name} {_interval(min(table[name]), max(table[name]))}; "
                "widen that axis or narrow the sampling"
            )


def _wavelengths(config: Mapping[str, Any]) -> Iterator[str]:
    arm = config["noise"]["arm"]
    lo_nm, hi_nm = arm["wave_min_nm"], arm["wave_max_nm"]
    if not lo_nm < hi_nm:
        yield f"noise.arm: wave_min_nm = {lo_nm:g} is not below wave_max_nm = {hi_nm:g}"
        return
    arm_lo, arm_hi = 10 * lo_nm, 10 * hi_nm  # Angstrom
    pixel = (arm_hi - arm_lo) / arm["n_pix"]
    grid = config["grid"]
    if not grid["wave_min"] < grid["wave_max"]:
        yield (
            f"grid: wave_min = {grid['wave_min']:g} is not below wave_max = {grid['wave_max']:g}; "
            "give the grid's wavelength range in increasing order"
        )
    else:
        yield from _doppler_coverage(config, arm_lo, arm_hi, pixel)
    windows = {
        "observe.normalization": (
            config["observe"]["normalization"]["wave_min"],
            config["observe"]["normalization"]["wave_max"],
        ),
        "plots.ca2_zoom": tuple(config["plots"]["ca2_zoom"]),
    }
    half = config["evaluate"]["metrics"]["line_half_width"]
    for group, lines in config["evaluate"]["metrics"]["lines"].items():
        for k, line in enumerate(lines):
            windows[f"evaluate.metrics.lines.{group}.{k}"] = (line - half, line + half)
    for key, (lo, hi) in windows.items():
        if not lo < hi:
            yield f"{key}: window {_interval(lo, hi)} Å is empty; give it in increasing order"
        elif min(hi, arm_hi) - max(lo, arm_lo) < pixel:
            yield (
                f"{key}: window {_interval(lo, hi)} Å holds no pixel of the arm "
                f"{_interval(arm_lo, arm_hi)} Å (noise.arm); move it onto the arm"
            )


def _doppler_coverage(
    config: Mapping[str, Any], arm_lo: float, arm_hi: float, pixel: float
) -> Iterator[str]:
    """The grid must hold the rest wavelengths that land on the arm with its LSF window, at
    every radial velocity the sampling draws (as :class:`pfsdenoise.observe.pipeline.Observer`
    requires)."""
    v_lo, v_hi = support(config["sampling"]["rv"])
    if not (math.isfinite(v_lo) and math.isfinite(v_hi)):
        yield (
            "sampling.rv: an untruncated distribution draws any velocity; give low and high so "
            "that the grid can cover the Doppler shifts"
        )
        return
    margin = (config["observe"]["lsf_half_width_pix"] + 1) * pixel
    need_lo = (arm_lo - margin) / (1 + v_hi / C_KMS)
    need_hi = (arm_hi + margin) / (1 + v_lo / C_KMS)
    grid = config["grid"]
    if grid["wave_min"] > need_lo or grid["wave_max"] < need_hi:
        yield (
            f"grid: wave_min..wave_max = {_interval(grid['wave_min'], grid['wave_max'])} Å, but "
            f"the arm {_interval(arm_lo, arm_hi)} Å with its LSF window at sampling.rv "
            f"{_interval(v_lo, v_hi)} km/s needs {_interval(need_lo, need_hi)} Å; widen the "
            "grid's range or narrow sampling.rv"
        )


def _models(config: Mapping[str, Any]) -> Iterator[str]:
    n_pix = config["noise"]["arm"]["n_pix"]
    names = list(config["train"]["models"])
    for name, spec in config["train"]["models"].items():
        key = f"train.models.{name}.hyper"
        hyper = spec["hyper"]
        teacher = spec.get("teacher")
        if teacher is not None and (teacher not in names or teacher == name):
            yield (
                f"train.models.{name}.teacher: {teacher!r} is not another model of train.models "
                f"({', '.join(names)}); name one of them or set null"
            )
        k = hyper.get("prior_components") or 0
        n_train = _training_spectra(config)
        if k and n_train and k > n_train - 1:
            yield (
                f"{key}.prior_components: {k} components need at least {k + 1} training "
                f"spectra, there are {n_train}; lower it"
            )
        for field in ("filters", "widths", "hidden"):
            values = hyper.get(field)
            if values is not None and not (
                isinstance(values, list)
                and values
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values)
            ):
                yield f"{key}.{field}: {values!r}; give a non-empty list of whole numbers >= 1"
        try:
            check_n_pix(spec["arch"], n_pix, hyper)
        except GeometryError as exc:
            yield f"{key} with noise.arm.n_pix = {n_pix}: {exc}"


def _ordered_lists(config: Mapping[str, Any]) -> Iterator[str]:
    lists = {f"grid.axes.{k}": v for k, v in config["grid"]["axes"].items()}
    lists.update({f"noise.table.{k}": config["noise"]["table"][k] for k in TABLE_CONDITIONS})
    lists["evaluate.tune.snr_edges"] = config["evaluate"]["tune"]["snr_edges"]
    for name, spec in config["evaluate"]["bins"].items():
        lists[f"evaluate.bins.{name}.edges"] = spec["edges"]
    for key, values in lists.items():
        if not _ordered(values):
            yield f"{key}: {values} is not strictly increasing; sort it and drop repeats"


def _training_spectra(config: Mapping[str, Any]) -> int:
    """Spectra the models train on: the train shards', or one epoch drawn from the grid."""
    if config["train"]["data"]["source"] == "grid":
        return int(config["train"]["data"]["spectra_per_epoch"])
    return config["simulate"]["splits"].get("train", 0) * len(config["simulate"]["chunks"])


def _pca(config: Mapping[str, Any]) -> Iterator[str]:
    evaluate = config["evaluate"]
    if "pca" not in evaluate["baselines"]:
        return
    pca = evaluate["pca"]
    n_train = config["simulate"]["splits"].get("train", 0) * len(config["simulate"]["chunks"])
    if n_train and pca["max_components"] > n_train - 1:
        yield (
            f"evaluate.pca.max_components: {pca['max_components']} components need at least "
            f"{pca['max_components'] + 1} training spectra, there are {n_train}; lower it"
        )
    too_many = [n for n in pca["grid"].get("n_components", []) if n > pca["max_components"]]
    if too_many:
        yield (
            f"evaluate.pca.grid.n_components: {too_many} exceed max_components = "
            f"{pca['max_components']}; lower them or raise max_components"
        )
