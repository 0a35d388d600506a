"""Impossible configurations are refused before any job, naming the key and the fix (issue 13,
row 3): each case is an override a user would give with --configfile, read by the same
function the CLI uses (config.yaml underneath, then the override)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pfsdenoise.configuration import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "config.yaml"

CASES = [
    # (id, override, the message must match: the key, the problem, the fix)
    ("teff low > high", {"sampling": {"teff": {"low": 8000, "high": 4000}}},
     r"sampling\.teff: low = 8000 is not below high = 4000; give low < high"),
    ("exp_time -900", {"sampling": {"exp_time": {"dist": "fixed", "value": -900}}},
     r"sampling\.exp_time: draws from \[-900, -900\], but an exposure time is > 0 s; change"),
    ("n_exp -3", {"sampling": {"n_exp": {"dist": "fixed", "value": -3}}},
     r"sampling\.n_exp: draws from \[-3, -3\], but a number of exposures is >= 1"),
    ("n_exp not whole", {"sampling": {"n_exp": {"dist": "fixed", "value": 2.5}}},
     r"sampling\.n_exp: n_exp is a count; give dist: fixed .* whole numbers"),
    ("seeing [-1, 0]", {"sampling": {"seeing": {"dist": "uniform", "low": -1, "high": 0}}},
     r"sampling\.seeing: draws from \[-1, 0\], but a seeing FWHM is > 0 arcsec"),
    ("moon phase 1.5", {"sampling": {"moon_phase": {"dist": "uniform", "low": 0, "high": 1.5}}},
     r"sampling\.moon_phase: draws from \[0, 1\.5\], but the lunar phase lies in \[0, 1\]"),
    ("zenith angle 95", {"sampling": {"zenith_angle": {"dist": "fixed", "value": 95}}},
     r"sampling\.zenith_angle: draws from \[95, 95\], but a target above the horizon"),
    ("seeing outside the noise table",
     {"sampling": {"seeing": {"dist": "uniform", "low": 0.5, "high": 2.5}}},
     r"sampling\.seeing: draws from \[0\.5, 2\.5\], outside the noise table's axis "
     r"noise\.table\.seeing \[0\.3, 2\]; widen that axis"),
    ("n_pix 4095 for the U-Net", {"noise": {"arm": {"n_pix": 4095}}},
     r"train\.models\.unet\.hyper with noise\.arm\.n_pix = 4095: unet: n_pix=4095 is not "
     r"divisible by 2\*\*4 = 16 .*; use 4080 or 4096 pixels"),
    ("n_pix 4095 for the resunet", {"noise": {"arm": {"n_pix": 4095}}},
     r"train\.models\.resunet\.hyper with noise\.arm\.n_pix = 4095: resunet: .* 2\*\*4"),
    ("13-level U-Net", {"train": {"models": {"unet": {"hyper": {"filters": [8] * 13}}}}},
     r"train\.models\.unet\.hyper with noise\.arm\.n_pix = 4096: unet: n_pix=4096 is not "
     r"divisible by 2\*\*13"),
    ("dense layer of 0 units", {"train": {"models": {"dae": {"hyper": {"hidden": [0]}}}}},
     r"train\.models\.dae\.hyper\.hidden: \[0\]; give a non-empty list of whole numbers >= 1"),
    ("chunk teff [8000, 9000]", {"simulate": {"chunks": [{"name": "hot", "teff": [8000, 9000]}]}},
     r"simulate\.chunks\.0\.teff: range \[8000, 9000\] does not meet sampling\.teff "
     r"\[3500, 7500\] and lies outside the grid axis grid\.axes\.teff \[3000, 7500\]"),
    ("chunk range empty", {"simulate": {"chunks": [{"name": "a", "logg": [3, 1]}]}},
     r"simulate\.chunks\.0\.logg: range \[3, 1\] is empty; give \[low, high\] with low < high"),
    ("sampling outside the grid", {"sampling": {"mh": {"low": -4.0}}},
     r"sampling\.mh \(chunk 'cool'\): draws mh in \[-4, 0\.75\], outside the grid axis "
     r"grid\.axes\.mh \[-2\.5, 0\.75\]; narrow the range or extend the grid"),
    ("grid wave_min > wave_max", {"grid": {"wave_min": 9100.0}},
     r"grid: wave_min = 9100 is not below wave_max = 9050"),
    ("grid misses the Doppler margin", {"grid": {"wave_min": 7090.0}},
     r"grid: wave_min\.\.wave_max = \[7090, 9050\] Å, but the arm \[7100, 8850\] Å with its LSF "
     r"window at sampling\.rv \[-1500, 1500\] km/s needs \[70\d\d\.\d*, 89\d\d\.\d*\] Å"),
    ("arm wave_min > wave_max", {"noise": {"arm": {"wave_min_nm": 900.0}}},
     r"noise\.arm: wave_min_nm = 900 is not below wave_max_nm = 885"),
    ("normalization window reversed",
     {"observe": {"normalization": {"wave_min": 9000.0, "wave_max": 7000.0}}},
     r"observe\.normalization: window \[9000, 7000\] Å is empty"),
    ("normalization window off the arm",
     {"observe": {"normalization": {"wave_min": 9000.0, "wave_max": 9500.0}}},
     r"observe\.normalization: window \[9000, 9500\] Å holds no pixel of the arm"),
    ("metric line off the arm", {"evaluate": {"metrics": {"lines": {"ha": [6564.6]}}}},
     r"evaluate\.metrics\.lines\.ha\.0: window \[6561\.6, 6567\.6\] Å holds no pixel"),
    ("bins not ordered", {"evaluate": {"bins": {"snr": {"column": "snr", "edges": [5, 2, 10]}}}},
     r"evaluate\.bins\.snr\.edges: \[5, 2, 10\] is not strictly increasing; sort it"),
    ("S/N edges not ordered", {"evaluate": {"tune": {"snr_edges": [0, 10, 5]}}},
     r"evaluate\.tune\.snr_edges: \[0, 10, 5\] is not strictly increasing"),
    ("noise table axis not ordered", {"noise": {"table": {"zenith_angle": [0, 50, 40, 60]}}},
     r"noise\.table\.zenith_angle: \[0, 50, 40, 60\] is not strictly increasing"),
    ("grid axis not ordered", {"grid": {"axes": {"logg": [0.0, 2.0, 1.0, 5.0]}}},
     r"grid\.axes\.logg: \[0\.0, 2\.0, 1\.0, 5\.0\] is not strictly increasing"),
    ("PCA larger than the training set", {"simulate": {"splits": {"train": 2}}},
     r"evaluate\.pca\.max_components: 256 components need at least 257 training spectra, there "
     r"are 8; lower it"),  # 2 per chunk, 4 chunks
    ("MMSE prior larger than the training set", {"simulate": {"splits": {"train": 2}}},
     r"train\.models\.resunet\.hyper\.prior_components: 256 components need at least 257 "
     r"training spectra, there are 8; lower it"),
    ("a teacher that is not another model",
     {"train": {"models": {"dae": {"teacher": "nobody"}}}},
     r"train\.models\.dae\.teacher: 'nobody' is not another model of train\.models"),
    ("a stale key the user wrote", {"sampling": {"teff": {"dist": "uniform", "low": 3500,
                                                          "high": 7500, "a": 2}}},
     r"sampling\.teff: dist uniform: Additional properties are not allowed \('a' was "
     r"unexpected\) \(dist uniform takes low, high\)"),
    ("a distribution of no name", {"sampling": {"teff": {"dist": "gamma", "k": 2}}},
     r"sampling\.teff: dist 'gamma' is not one of uniform, beta, normal, fixed, choice"),
    ("a missing parameter of the new dist", {"sampling": {"mag": {"dist": "normal"}}},
     r"sampling\.mag: dist normal: 'mean' is a required property"),
]  # fmt: skip


def _load(tmp_path: Path, override: dict) -> dict:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(override))
    return load_config([BASE, path])


@pytest.mark.parametrize(
    ("override", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_impossible_config_is_refused_naming_key_and_fix(tmp_path, override, expected):
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, override)


def test_a_new_dist_replaces_the_default_one(tmp_path):
    """`sampling.teff: {dist: uniform, ...}` over the default Beta: the Beta's a and b, which
    the user never wrote, are dropped instead of reported."""
    config = _load(tmp_path, {"sampling": {"teff": {"dist": "uniform", "low": 3600, "high": 7400}}})
    assert config["sampling"]["teff"] == {"dist": "uniform", "low": 3600, "high": 7400}
    # a layer that only moves the bounds keeps the default's shape parameters
    config = _load(tmp_path, {"sampling": {"teff": {"low": 3600}}})
    assert config["sampling"]["teff"] == {"dist": "beta", "a": 0.7, "b": 0.7, "low": 3600,
                                          "high": 7500.0}  # fmt: skip


def test_every_problem_is_listed_at_once(tmp_path):
    override = {"sampling": {"exp_time": {"dist": "fixed", "value": -900},
                             "seeing": {"dist": "uniform", "low": -1, "high": 0}},
                "noise": {"arm": {"n_pix": 4095}}}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, override)
    text = str(info.value)
    assert all(k in text for k in ("sampling.exp_time", "sampling.seeing", "noise.arm.n_pix"))
