"""The noise model against the Subaru PFS ETC, with and without its 2025 calibration (MR arm).

* ``etc_calibration: "2025"`` against the ETC's own reference run (Subaru-PFS/
  spt_ExposureTimeCalculator, commit aac84fa2, which includes the 2025 factors of commit
  1d085f2): inputs gsetc_params_mr.txt (seeing 0.8", zenith 45°, field angle 0.675°, Moon ZA 30°,
  separation 60°, phase 0, 8 × 900 s, sky-subtraction floor 0.01, stray light 0.02, r_eff 0.3"
  exponential source, flat AB spectrum), outputs snc_mr.dat and noise_mr.dat. Median S/N per
  pixel at AB 18–22 in pfsdenoise/data/etc_mr_reference_snr.txt (tools/derive_etc_tables.py;
  54.7, 28.7, 13.6, 5.9, 2.5 in SCIENCE.md §4).
* ``etc_calibration: none`` against the same ETC without those factors (throughput model
  20211220, sky model 11005) at zenith, field centre, Moon below the horizon, seeing 0.8",
  12 × 900 s, r_eff 0.3" exponential source, 0.1" fibre offset: S/N 42.6 / 20.7 / 9.2 / 3.9 at
  AB 19 / 20 / 21 / 22 (SCIENCE.md §4; issue 16).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from pfsdenoise.observe.instrument import etc_calibration, load_table
from pfsdenoise.observe.noise_table import (
    Conditions,
    NoiseTable,
    build_noise_table,
    write_noise_table,
)
from pfsdenoise.observe.pipeline import Observer

REFERENCE = dict(
    zenith_angle=45.0, field_angle=0.675, seeing=0.8, moon_zenith_angle=30.0,
    moon_separation=60.0, moon_phase=0.0, exp_time=900.0, n_exp=8,
)  # fmt: skip
ETC_SNR_2025 = {int(m): float(s) for m, s in load_table("etc_mr_reference_snr.txt")}
DARK_ZENITH = dict(
    zenith_angle=0.0, field_angle=0.0, seeing=0.8, moon_zenith_angle=135.0,
    moon_separation=90.0, moon_phase=0.0, exp_time=900.0, n_exp=12,
)  # fmt: skip
ETC_SNR_NONE = {19: 42.6, 20: 20.7, 21: 9.2, 22: 3.9}  # SCIENCE.md §4
# The ETC's own reference files, in the shared folder beside the checkout (not committed).
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "pfs-etc"


def _conditions(values: dict, n: int = 1) -> Conditions:
    return Conditions(**{k: np.full(n, v) for k, v in values.items()})


@pytest.fixture(scope="module")
def uncalibrated_noise_table(config, tmp_path_factory) -> Path:
    """Noise table of the factor-free ETC for an r_eff = 0.3" source 0.1" off the fibre centre."""
    noise = copy.deepcopy(config["noise"])
    noise.update(
        etc_calibration="none", source_effective_radius_arcsec=0.3, fibre_offset_arcsec=0.1
    )
    path = tmp_path_factory.mktemp("noise") / "noise_table_none.npz"
    write_noise_table(path, build_noise_table(noise))
    return path


def _etc_snr(table_path, observe_cfg, wave, conditions: dict, mags) -> np.ndarray:
    """Median over all MR pixels of counts √N / √(counts + background), a flat AB spectrum at
    each magnitude: the ETC's continuum S/N (snc output), no pixel masked."""
    obs = Observer(wave, np.log(wave[1] / wave[0]), str(table_path), observe_cfg)
    n = len(mags)
    flux = obs.noiseless(
        np.repeat((1e8 / wave**2)[None, :], n, axis=0), np.zeros(n), np.zeros(n), np.array(mags)
    )
    cond = _conditions(conditions, n)
    counts = flux * obs.table.counts_per_flux(cond)
    var = counts + obs.table.background_variance(cond)
    return np.median(counts * np.sqrt(cond.n_exp[:, None]) / np.sqrt(var), axis=1)


def test_snr_2025_calibration_matches_etc_reference_run(reference_noise_table, config, wave):
    mags = sorted(ETC_SNR_2025)
    snr = _etc_snr(reference_noise_table, config["observe"], wave, REFERENCE, mags)
    for mag, ours in zip(mags, snr, strict=True):
        assert ours == pytest.approx(ETC_SNR_2025[mag], rel=0.03), f"AB {mag}"


def test_snr_without_calibration_matches_factor_free_etc(uncalibrated_noise_table, config, wave):
    mags = sorted(ETC_SNR_NONE)
    snr = _etc_snr(uncalibrated_noise_table, config["observe"], wave, DARK_ZENITH, mags)
    for mag, ours in zip(mags, snr, strict=True):
        assert ours == pytest.approx(ETC_SNR_NONE[mag], rel=0.03), f"AB {mag}"


def test_simulated_snr_matches_etc_within_10_percent(reference_noise_table, config, wave):
    """The simulator's own S/N (median over unmasked pixels) stays near the ETC figures."""
    obs = Observer(wave, np.log(wave[1] / wave[0]), str(reference_noise_table), config["observe"])
    mags = np.array(sorted(ETC_SNR_2025))
    n = mags.size
    params = {k: np.full(n, v) for k, v in REFERENCE.items()}
    params.update(rv=np.zeros(n), ebv=np.zeros(n), mag=mags.astype(float))
    model = np.repeat((1e8 / wave**2)[None, :], n, axis=0)  # flat f_ν
    result = obs.observe(model, params, np.random.default_rng(0))
    for mag, snr in zip(mags, result.snr, strict=True):
        assert snr == pytest.approx(ETC_SNR_2025[mag], rel=0.10), f"AB {mag}"


def test_calibration_factors_apply_where_the_etc_applies_them(
    reference_noise_table, config, tmp_path
):
    """Throughput × 1.20 on every count (object and sky), × 1.015 on the whole background."""
    noise = copy.deepcopy(config["noise"])
    noise.update(etc_calibration="none", source_effective_radius_arcsec=0.3)
    write_noise_table(tmp_path / "none.npz", build_noise_table(noise))
    cal, plain = NoiseTable(reference_noise_table), NoiseTable(tmp_path / "none.npz")
    cond = _conditions(REFERENCE)
    f32 = 1e-6  # the tables are evaluated in float32
    np.testing.assert_allclose(cal.counts_per_flux(cond) / plain.counts_per_flux(cond), 1.20, f32)
    np.testing.assert_allclose(cal.sky_counts(cond) / plain.sky_counts(cond), 1.20, f32)
    variance = cal.background_variance(cond)
    cal.meta["background_variance_factor"] = 1.0
    np.testing.assert_allclose(variance / cal.background_variance(cond), 1.015, f32)
    with pytest.raises(ValueError, match=r"noise.etc_calibration = '2024'.*'2025', 'none'"):
        etc_calibration("2024")


def _check_sky_variance(table: NoiseTable, pixels: np.ndarray, etc_var: np.ndarray) -> None:
    var = table.background_variance(_conditions(REFERENCE))[0][pixels]
    corr = np.corrcoef(np.log(var), np.log(etc_var))[0, 1]
    assert corr >= 0.9
    assert np.median(var) == pytest.approx(np.median(etc_var), rel=0.01)  # 0.987 without × 1.015


def test_sky_variance_follows_committed_reference(reference_noise_table):
    ref = load_table("etc_mr_reference.txt")  # every 4th pixel of noise_mr.dat
    _check_sky_variance(NoiseTable(reference_noise_table), ref[:, 0].astype(int), ref[:, 2])


@pytest.mark.skipif(
    not (SHARED / "noise_mr.dat").exists(),
    reason=f"ETC reference output {SHARED / 'noise_mr.dat'} not available here",
)
def test_sky_variance_follows_full_etc_output(reference_noise_table):
    data = np.loadtxt(SHARED / "noise_mr.dat")
    data = data[data[:, 0] == 3]  # arm id 3 = MR red
    _check_sky_variance(NoiseTable(reference_noise_table), data[:, 1].astype(int), data[:, 3])
