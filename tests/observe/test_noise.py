"""The ETC noise model per spectrum: trends with conditions, noise statistics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pfsdenoise.observe.noise_table import ConditionError, Conditions, NoiseTable
from pfsdenoise.observe.pipeline import Observer

BASE = dict(
    zenith_angle=20.0, field_angle=0.3, seeing=0.8, moon_zenith_angle=120.0,
    moon_separation=90.0, moon_phase=0.0, exp_time=900.0, n_exp=12, rv=0.0, ebv=0.05, mag=21.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def observer(noise_table, config, wave):
    return Observer(wave, np.log(wave[1] / wave[0]), str(noise_table), config["observe"])


def _snr(observer, model, base: dict, name: str, values: list[float]) -> np.ndarray:
    """S/N of one model star under ``base`` conditions with ``name`` varied over ``values``."""
    n = len(values)
    params = {k: np.full(n, v, dtype=float) for k, v in base.items()}
    params[name] = np.asarray(values, dtype=float)
    out = observer.observe(np.repeat(model[None, :], n, 0), params, np.random.default_rng(1))
    return out.snr


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("zenith_angle", [0.0, 20.0, 40.0, 55.0]),  # airmass 1.0 → 1.7
        ("seeing", [0.5, 0.8, 1.1, 1.5]),
        ("moon_phase", [0.0, 0.1, 0.2, 0.3]),  # with the Moon up (below)
        ("moon_separation", [90.0, 60.0, 45.0, 30.0]),  # Rayleigh term rises again beyond 90°
        ("field_angle", [0.0, 0.2, 0.45, 0.65]),
        ("mag", [20.0, 20.5, 21.0, 22.0]),
    ],
)
def test_snr_falls_as_conditions_worsen(observer, make_spectrum, name, values):
    base = dict(BASE)
    if name.startswith("moon"):
        base.update(moon_zenith_angle=40.0, moon_phase=0.15)
    snr = _snr(observer, make_spectrum(5200.0, 4), base, name, values)
    assert np.all(np.diff(snr) < 0), f"{name}: {snr}"


def test_moon_below_horizon_adds_nothing(noise_table):
    table = NoiseTable(noise_table)

    def sky(moon_za, phase):
        c = {k: np.array([v]) for k, v in BASE.items() if k in Conditions.__annotations__}
        c.update(moon_zenith_angle=np.array([moon_za]), moon_phase=np.array([phase]))
        return table.sky_counts(Conditions(**c))[0]

    assert np.allclose(sky(95.0, 0.5), sky(120.0, 0.0))
    assert np.all(sky(40.0, 0.5) > sky(95.0, 0.5))  # a full Moon up brightens every pixel


def test_noise_has_unit_variance(observer, make_spectrum):
    n = 64
    params = {k: np.full(n, v) for k, v in BASE.items()}
    out = observer.observe(
        np.repeat(make_spectrum(4800.0, 9)[None, :], n, 0), params, np.random.default_rng(7)
    )
    pull = ((out.flux - out.flux_true) / out.sigma)[~out.mask]
    assert pull.mean() == pytest.approx(0.0, abs=0.01)
    assert pull.std() == pytest.approx(1.0, abs=0.01)
    # normalization: noisy median over unmasked pixels is 1; all three share the factor
    assert np.allclose(np.nanmedian(np.where(out.mask, np.nan, out.flux), axis=1), 1.0)
    assert out.flux.dtype == np.float32 and out.mask.dtype == bool
    assert np.all(out.snr > 0)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("zenith_angle", 75.0, "zenith_angle = 75.0 is outside"),
        ("seeing", 3.0, "seeing = 3.0 is outside"),
        ("field_angle", -0.1, "field_angle = -0.1 is outside"),
        ("exp_time", -5.0, "exp_time must be > 0"),
        ("rv", 2e5, "rv = 200000.0 km/s"),
    ],
)
def test_bad_conditions_are_named(observer, make_spectrum, name, value, match):
    params = {k: np.full(1, v) for k, v in BASE.items()}
    params[name] = np.array([value])
    with pytest.raises((ConditionError, ValueError), match=match):
        observer.observe(make_spectrum(5000.0, 1)[None, :], params, np.random.default_rng(0))


def test_non_finite_model_flux_is_refused(observer, make_spectrum):
    model = make_spectrum(5000.0, 1)[None, :].copy()
    model[0, 100] = np.nan
    params = {k: np.full(1, v) for k, v in BASE.items()}
    with pytest.raises(ValueError, match="non-finite"):
        observer.observe(model, params, np.random.default_rng(0))
