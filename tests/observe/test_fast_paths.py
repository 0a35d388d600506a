"""The observe step's fast paths give what the plain formulations give (benchmarks/RESULTS.md:
"Observe step"): dense blocks of sparse matrices, cell-ordered interpolation, the vectorized
median, the in-place Doppler shift, float32 noise tables, and the reordered chunk path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from pfsdenoise.constants import C_KMS, STELLAR_AXES
from pfsdenoise.grid.interpolate import cell_order, interpolate, linear_weights, weighted_rows
from pfsdenoise.observe.banded import BandedMatrix
from pfsdenoise.observe.kernels import etc_sigma_and_mask
from pfsdenoise.observe.noise_table import Conditions, NoiseTable
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.observe.sky import moon_brightness_components
from pfsdenoise.observe.star import MagnitudeScaler, doppler_shift
from pfsdenoise.simulate.chunk import observe_spectra
from pfsdenoise.simulate.sampling import sample_parameters
from pfsdenoise.spectrum import masked_median

# float32 arithmetic in another order than the reference: a few tens of float32 ulps
RTOL = 1e-5


def banded_matrix(rng: np.random.Generator, n_out: int, n_in: int) -> sp.csr_array:
    """A random matrix whose rows read a window of inputs that moves along the row index."""
    rows, cols = [], []
    for i in range(n_out):
        centre = int(i * n_in / n_out)
        window = np.arange(max(0, centre - 7), min(n_in, centre + 9))
        rows += [i] * window.size
        cols += list(window)
    return sp.csr_array((rng.random(len(rows)), (rows, cols)), shape=(n_out, n_in))


def test_banded_matrix_equals_the_sparse_product():
    rng = np.random.default_rng(0)
    a, b = banded_matrix(rng, 50, 300), banded_matrix(rng, 7, 300)
    x = rng.normal(size=(5, 300)).astype(np.float32)
    for block in (1, 4, 16, 64):
        np.testing.assert_allclose(
            BandedMatrix.from_sparse(a, block).apply(x), x @ a.T.toarray(), rtol=RTOL, atol=1e-5
        )
    stacked = BandedMatrix.stack([(a, 16), (b, 2)])
    np.testing.assert_allclose(
        stacked.apply(x), x @ sp.vstack([a, b]).T.toarray(), rtol=RTOL, atol=1e-5
    )
    first = [lo for lo, _ in stacked.spans]
    assert first == sorted(first)  # blocks in input order
    with pytest.raises(ValueError, match=r"\(n, 300\)"):
        stacked.apply(x[:, :-1])


def test_masked_median_equals_numpy_median_of_the_valid_values():
    rng = np.random.default_rng(1)
    for trial in range(300):
        n, m = rng.integers(1, 7), rng.integers(1, 12)
        dtype = (np.float32, np.float64)[trial % 2]
        values = rng.normal(size=(n, m)).astype(dtype)
        if trial % 3 == 0:
            values = np.round(values)  # ties
        if trial % 7 == 0:
            values[0, 0] = np.nan
        valid = rng.random((n, m)) < rng.random()
        expected = [
            np.median(v[u]) if u.any() else np.nan for v, u in zip(values, valid, strict=True)
        ]
        got = masked_median(values, valid)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.array(expected, dtype=dtype))


def test_doppler_shift_is_linear_interpolation_with_repeated_edges(wave):
    log_step = np.log(wave[1] / wave[0])
    rng = np.random.default_rng(2)
    flux = rng.random((3, 500)).astype(np.float32)
    shifts = np.array([3.37, -12.8, 0.25])  # samples
    out = doppler_shift(flux, np.expm1(shifts * log_step) * C_KMS, log_step)
    k = np.arange(500)
    for f, s, o in zip(flux, shifts, out, strict=True):
        np.testing.assert_allclose(o, np.interp(k - s, k, f), rtol=1e-6)


def test_filter_bin_integrals_equal_the_binning_matrix_product(wave):
    scaler = MagnitudeScaler(wave, "hsc2017-i", "ccm89", 3.1)
    flux = np.random.default_rng(8).random((4, wave.size)).astype(np.float32)
    expected = flux.astype(np.float64) @ scaler.binning.T.toarray()
    np.testing.assert_allclose(scaler.bin_integrals(flux), expected, rtol=RTOL)
    odd = MagnitudeScaler(wave, "hsc2017-i", "ccm89", 3.1, bin_size=7)  # a short last bin
    expected = flux.astype(np.float64) @ odd.binning.T.toarray()
    np.testing.assert_allclose(odd.bin_integrals(flux), expected, rtol=RTOL)


def test_sigma_and_mask_kernel_follows_the_etc_expressions():
    """σ = √(N (f·conv + B)) / (N conv), 0 where undefined; masked where σ is undefined, conv ≤ 0
    or B above the ratio × its median: the compiled pass against the numpy expressions."""
    rng = np.random.default_rng(9)
    n, m = 5, 300
    flux = rng.uniform(-1, 50, (n, m)).astype(np.float32)
    conv = rng.uniform(0.5, 3, (n, m)).astype(np.float32)
    conv[0, :7] = 0.0
    conv[1, 3] = -1.0
    background = rng.uniform(1, 10, (n, m)).astype(np.float32)
    background[2, 10:20] = 500.0
    flux[3, 5] = -1e4  # negative variance: σ undefined
    n_exp = np.array([1, 2, 3, 4, 5], dtype=np.float32)
    median = np.median(background, axis=1).astype(np.float32)
    sigma, mask = np.empty_like(flux), np.empty(flux.shape, dtype=bool)
    etc_sigma_and_mask(flux, conv, background, n_exp, median, np.float32(20), sigma, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.sqrt((flux * conv + background) * n_exp[:, None]) / (n_exp[:, None] * conv)
    undefined = ~np.isfinite(expected)
    np.testing.assert_array_equal(sigma, np.where(undefined, 0, expected))
    expected_mask = undefined | (conv <= 0) | (background / median[:, None] > 20)
    np.testing.assert_array_equal(mask, expected_mask)
    assert mask[0, :7].all() and mask[1, 3] and mask[2, 10:20].all() and mask[3, 5]
    assert not mask[4].any()


def test_cell_ordered_interpolation_equals_the_sparse_product(grid):
    rng = np.random.default_rng(3)
    lo = [grid.axes[a][0] for a in grid.axis_names]
    hi = [grid.axes[a][1] for a in grid.axis_names]  # the first cell of each axis: no hole
    params = rng.uniform(lo, hi, (40, 4))
    params[:5] = params[5]  # shared cells, and a sample on a node
    params[6] = lo
    weights, _ = linear_weights(grid, params)
    flux = grid.flux.reshape(-1, grid.n_wave)
    expected = weights.astype(np.float64) @ flux.astype(np.float64)
    np.testing.assert_allclose(weighted_rows(weights, flux), expected, rtol=RTOL)
    order = cell_order(grid, params)
    assert sorted(order) == list(range(40))
    cells = [tuple(row) for row in np.column_stack(
        [np.searchsorted(grid.axes[a], params[order, d], "right") for d, a in
         enumerate(grid.axis_names)])]  # fmt: skip
    runs = 1 + sum(a != b for a, b in itertools.pairwise(cells))
    assert runs == len(set(cells)), "samples of one cell are not consecutive"


def test_noise_tables_in_float32_follow_the_tables(noise_table):
    """sky (zenith interpolation + Moon) and the object conversion from the raw tables in
    float64, against the float32 evaluation."""
    table = NoiseTable(noise_table)
    t = table.t
    c = Conditions(
        zenith_angle=np.array([7.5, 31.0]), field_angle=np.array([0.0, 0.5]),
        seeing=np.array([0.55, 1.3]), moon_zenith_angle=np.array([40.0, 100.0]),
        moon_separation=np.array([70.0, 120.0]), moon_phase=np.array([0.1, 0.2]),
        exp_time=np.array([900.0, 450.0]), n_exp=np.array([12, 4]),
    )  # fmt: skip

    def lerp(axis: str, values: np.ndarray, x: np.ndarray) -> np.ndarray:
        pos = np.interp(x, t[axis], np.arange(t[axis].size))
        i = np.minimum(pos.astype(int), t[axis].size - 2)
        f = (pos - i).reshape(-1, *([1] * (values.ndim - 1)))
        return values[i] * (1 - f) + values[i + 1] * f

    b_rs, b_ms = moon_brightness_components(
        c.moon_phase, c.moon_separation, c.moon_zenith_angle, c.zenith_angle, table.meta["k_v"]
    )
    sky = lerp("zenith_angle", t["sky_per_s"], c.zenith_angle)
    sky += b_rs[:, None] * t["moon_rayleigh_per_s"] + b_ms[:, None] * t["moon_mie_per_s"]
    sky *= (lerp("field_angle", t["sky_field_factor"], c.field_angle) * c.exp_time)[:, None]
    np.testing.assert_allclose(table.sky_counts(c), sky, rtol=RTOL)

    ap = np.array([
        lerp("field_angle", lerp("seeing", t["aperture"], np.array([s]))[0], np.array([f]))[0]
        for s, f in zip(c.seeing, c.field_angle, strict=True)
    ])  # fmt: skip
    ap_pix = np.array([np.interp(t["wave_nm"], t["aperture_wave_nm"], a) for a in ap])
    secz = 1 / np.cos(np.radians(c.zenith_angle))
    atm = 10 ** (-0.4 * np.multiply.outer(secz, t["extinction_k"])) * t["telluric"]
    field = lerp("field_angle", t["object_field_factor"], c.field_angle) * c.exp_time
    conv = atm * ap_pix * t["object_per_s"] * field[:, None]
    np.testing.assert_allclose(table.counts_per_flux(c), conv, rtol=RTOL)


def test_chunk_path_equals_observing_the_batches_in_order(grid, noise_table, config):
    """observe_spectra makes the noiseless spectra in cell order: the result is that of
    Observer.observe on each batch in sampling order (the noise draws are the same)."""
    ranges = {a: (grid.axes[a][0], grid.axes[a][1]) for a in STELLAR_AXES}
    params = sample_parameters(config["sampling"], 24, np.random.default_rng(4), ranges)
    observer = Observer(grid.wave, grid.log_step, str(noise_table), config["observe"])
    fast = observe_spectra(grid, observer, params, np.random.default_rng(5), 10)
    stellar = np.column_stack([params[a] for a in STELLAR_AXES])
    rng = np.random.default_rng(5)
    for start in range(0, 24, 10):
        sl = slice(start, start + 10)
        plain = observer.observe(
            interpolate(grid, stellar[sl]), {p: v[sl] for p, v in params.items()}, rng
        )
        part = fast.rows(sl)
        np.testing.assert_array_equal(part.mask, plain.mask)
        for name in ("flux_true", "sigma", "snr", "norm"):
            np.testing.assert_allclose(getattr(part, name), getattr(plain, name), rtol=RTOL)
        np.testing.assert_allclose(
            part.flux, plain.flux, rtol=RTOL, atol=RTOL * float(plain.sigma.max())
        )
