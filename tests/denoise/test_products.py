"""PFS datamodel products in, datamodel-compatible files out: each product in its exact layout
(pfs_files.py), with units, mask planes, the MR-arm cut, refusals and warnings."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from pfsdenoise.cli import main
from pfsdenoise.denoise.formats import read_input
from pfsdenoise.denoise.hdus import read_rows
from pfsdenoise.denoise.inputs import ReadOptions
from pfsdenoise.denoise.masks import DOMAIN_WARNING, MASKED, NOT_DENOISED, OUTSIDE_ARM
from pfsdenoise.denoise.products import ProductError, recognise
from pfsdenoise.denoise.testdata import (
    PLANES,
    bits,
    from_njy,
    to_njy,
    write_fiber_array_set,
    write_single,
    write_target_spectra,
)
from pfsdenoise.learn.testdata import toy_spectra

WAVE = np.linspace(8400.0, 8700.0, 512)
"""The test model's grid [Å] (conftest.py)."""
NM = WAVE / 10
SINGLE = "pfsSingle-90006-00001-1,1-0000000002468ace-097821.fits"


@pytest.fixture(scope="module")
def toy():
    """Stand-in spectra in nJy on the model's grid in nm (flux, variance, CR-free masks)."""
    t = toy_spectra(6, np.random.default_rng(21), WAVE)
    order = np.argsort(t["snr"])  # lowest S/N first: the tiny model improves most there
    njy = np.array([to_njy(NM, f) for f in t["flux"][order]])
    sig = np.array([to_njy(NM, s) for s in t["sigma"][order]])
    true = np.array([to_njy(NM, f) for f in t["flux_true"][order]])
    return {"flux": njy, "var": sig**2, "true": true, "mask": t["mask"][order]}


def denoise(argv_inputs, out, model_path, *extra: str) -> int:
    return main(
        [
            "denoise",
            "--model",
            str(model_path),
            *map(str, argv_inputs),
            "-o",
            str(out),
            "--device",
            "cpu",
            *extra,
        ]
    )


def hdu_rows(path, name, dtype=np.float64):
    with fits.open(path) as hdul:
        return read_rows(hdul[name], dtype)


def rms(a, b):
    use = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a - b)[use] ** 2)))


def test_products_are_recognised_by_name_and_by_hdus(tmp_path, toy):
    f, v, m = toy["flux"], toy["var"], bits(toy["mask"], "BAD")
    made = {
        "pfsSingle": write_single(tmp_path / SINGLE, NM, f[0], v[0], m[0]),
        "pfsObject": write_single(tmp_path / "obj.fits", NM, f[0], v[0], m[0], visits=(1, 2)),
        "pfsCalibrated": write_target_spectra(
            tmp_path / "cal.fits", [NM] * 3, list(f[:3]), list(v[:3]), list(m[:3])
        ),
        "pfsArm": write_fiber_array_set(
            tmp_path / "arm.fits", np.tile(NM, (2, 1)), f[:2], v[:2], m[:2], fibers=[1, 2]
        ),
        "pfsMerged": write_fiber_array_set(
            tmp_path / "merged.fits", NM, f[:2], v[:2], m[:2], fibers=[1, 2], arm="bmn"
        ),
    }
    for product, path in made.items():
        with fits.open(path) as hdul:
            assert recognise(path, hdul) == product
        assert read_input(path).product == product
    coadd = tmp_path / "pfsCoadd-90006.fits"
    made["pfsCalibrated"].rename(coadd)
    assert read_input(coadd).product == "pfsCoadd"
    assert read_input(coadd, ReadOptions(product="pfsCalibrated")).product == "pfsCalibrated"


@pytest.mark.parametrize("wcs", [True, False])
def test_single_reads_as_the_datamodel_does(tmp_path, toy, wcs):
    """The linear WCS (metres, CRPIX1 = n/2 + 1.5) and the WAVELENGTH HDU give the same nm
    grid; σ is the square root of COVAR row 0; ids from TARGET and OBSERVATIONS."""
    path = write_single(
        tmp_path / SINGLE, NM, toy["flux"][0], toy["var"][0], bits(toy["mask"][0], "CR"), wcs=wcs
    )
    src = read_input(path)
    wave = (src.wave[0] * src.wave_unit).to_value("nm")
    np.testing.assert_allclose(wave, NM, rtol=0, atol=1e-9)
    np.testing.assert_allclose(src.sigma[0], np.sqrt(toy["var"][0].astype(np.float32)), rtol=1e-7)
    assert any("COVAR row 0 is the variance" in n for n in src.notes)
    assert str(src.flux_unit) == "nJy" and not src.air
    assert src.ids == [{"objId": 0x2468ACE, "catId": 90006, "fiberId": [640]}]
    assert np.array_equal(src.mask[0], toy["mask"][0])


@pytest.mark.parametrize("layout", ["shared", "per-object", "table"])
def test_calibrated_layouts_denoise_and_read_back(tmp_path, toy, model_path, layout):
    """One shared WAVELENGTH, one per object, and the table variants (value / row_N columns,
    spectra of different lengths): all denoise; the output is the input plus HDUs in FLUX's
    layout, and reads back through the same reader."""
    n = 4
    shift = {"shared": [0.0] * n, "per-object": [0.0, 0.011, -0.02, 0.03], "table": [0.0] * n}[
        layout
    ]
    waves = [NM + s for s in shift]
    flux, var, mask = (
        list(toy["flux"][:n]),
        list(toy["var"][:n]),
        list(bits(toy["mask"][:n], "BAD")),
    )
    if layout == "table":  # lengths differ: the datamodel writes tables
        waves[1], flux[1], var[1], mask[1] = NM[5:-7], flux[1][5:-7], var[1][5:-7], mask[1][5:-7]
    path = write_target_spectra(
        tmp_path / f"pfsCalibrated-{layout}.fits", waves, flux, var, mask, table=layout == "table"
    )
    out = tmp_path / "out"
    assert denoise([path], out, model_path) == 0
    result = out / path.name
    with fits.open(path) as a, fits.open(result) as b:
        assert [h.name for h in b][: len(a)] == [h.name for h in a]
        b.verify("exception")
        for x, y in zip(a[1:], b[1 : len(a)], strict=True):  # the product's HDUs, unchanged
            assert x.header == y.header and type(x) is type(y)
            if isinstance(x, fits.BinTableHDU):
                assert x.data.tobytes() == y.data.tobytes()
            else:
                np.testing.assert_array_equal(x.data, y.data)
        assert {"DENOISED", "DENOISED_MASK", "DENOISED_INFO"} <= {h.name for h in b}
        assert type(b["DENOISED"]) is type(a["FLUX"])
        assert b["DENOISED"].header["BUNIT"] == "nJy"
        assert b[0].header["PFSDSTEP"] == "denoise"
        info = b["DENOISED_INFO"].data
        assert list(info["targetId"]) == list(range(n)) and set(info["status"]) == {"ok"}
    before, after = read_input(path), read_input(result)
    for name in ("wave", "flux", "sigma", "mask"):
        for x, y in zip(getattr(before, name), getattr(after, name), strict=True):
            np.testing.assert_array_equal(x, y)
    assert after.ids == before.ids and after.product == before.product
    den = hdu_rows(result, "DENOISED")
    assert [d.size for d in den] == [f.size for f in flux]
    truth = [np.interp(w, NM, t) for w, t in zip(waves, toy["true"][:n], strict=True)]
    assert rms(den[0], truth[0]) < 0.8 * rms(flux[0], truth[0])


def test_cosmic_rays_flagged_in_mask_are_inpainted(tmp_path, toy, model_path):
    """CR pixels with absurd flux (3x the continuum) are rejected by plane name: the output is
    what the same spectrum with those pixels masked but untouched gives, flagged, near the
    truth; with CR not among the rejected planes the absurd values reach the model."""
    clean, var = toy["flux"][2].copy(), toy["var"][2].copy()
    hits = np.array([100, 101, 250, 251, 252, 400])
    hit = bits(np.isin(np.arange(NM.size), hits), "CR") | bits(toy["mask"][2], "BAD")
    absurd = clean.copy()
    absurd[hits] = 3.0 * toy["true"][2][hits]
    write_single(tmp_path / SINGLE, NM, absurd, var, hit)
    write_single(tmp_path / "clean.fits", NM, clean, var, hit)
    inputs = [tmp_path / SINGLE, tmp_path / "clean.fits"]
    assert denoise(inputs, tmp_path / "out", model_path) == 0
    assert denoise(inputs[:1], tmp_path / "keep", model_path, "--mask-planes", "BAD") == 0
    den = hdu_rows(tmp_path / "out" / SINGLE, "DENOISED")[0]
    flags = hdu_rows(tmp_path / "out" / SINGLE, "DENOISED_MASK", np.int64)[0]
    np.testing.assert_allclose(
        den, hdu_rows(tmp_path / "out" / "clean.fits", "DENOISED")[0], rtol=1e-6
    )
    assert np.all(flags[hits] & MASKED)
    true = toy["true"][2]
    assert np.max(np.abs(den[hits] / true[hits] - 1)) < 0.3
    kept = hdu_rows(tmp_path / "keep" / SINGLE, "DENOISED")[0]
    assert np.max(np.abs(kept[hits] / den[hits] - 1)) > 0.05


def test_mask_planes_are_looked_up_by_name(tmp_path, toy):
    other = {"CR": 9, "BAD": 2, "SAT": 5, "NO_DATA": 0, "UNMASKEDNAN": 7}
    cr = np.zeros(NM.size, bool)
    cr[[10, 20]] = True
    a = write_single(tmp_path / "a.fits", NM, toy["flux"][0], toy["var"][0], bits(cr, "CR"))
    b = write_single(
        tmp_path / "b.fits",
        NM,
        toy["flux"][0],
        toy["var"][0],
        np.where(cr, 1 << 9, 0) | (1 << 14),
        planes={**other, "BAD_SKY": 14},
    )
    assert np.array_equal(read_input(a).mask[0], cr) and np.array_equal(read_input(b).mask[0], cr)
    sky = read_input(b, ReadOptions(mask_planes=("BAD_SKY",))).mask[0]
    assert sky.all()


def test_nan_pixels_with_infinite_variance(tmp_path, toy, model_path):
    flux, var = toy["flux"][1].copy(), toy["var"][1].copy()
    flux[200:206], var[200:206] = np.nan, np.inf
    path = write_target_spectra(
        tmp_path / "pfsCalibrated-nan.fits", [NM], [flux], [var], [np.zeros(NM.size, np.int32)]
    )
    assert denoise([path], tmp_path / "out", model_path) == 0
    den = hdu_rows(tmp_path / "out" / path.name, "DENOISED")[0]
    flags = hdu_rows(tmp_path / "out" / path.name, "DENOISED_MASK", np.int64)[0]
    assert np.isfinite(den).all()
    assert np.all(flags[200:206] & MASKED) and not np.any(flags[150:190] & MASKED)


def test_full_range_spectrum_is_cut_to_the_arm(tmp_path, toy, model_path):
    """A pfsSingle over 380-1260 nm (arms merged) is denoised inside the MR arm only."""
    step = NM[1] - NM[0]
    wide = np.arange(380.0, 1260.0, step)
    arm = (wide >= NM[0] - step / 2) & (wide <= NM[-1] + step / 2)
    flux = np.where(arm, np.interp(wide, NM, toy["flux"][0]), 5.0 * np.median(toy["flux"][0]))
    var = np.where(arm, np.interp(wide, NM, toy["var"][0]), np.median(toy["var"][0]))
    path = write_single(tmp_path / SINGLE, wide, flux, var, np.zeros(wide.size, np.int32))
    cut = write_single(
        tmp_path / "cut.fits", wide[arm], flux[arm], var[arm], np.zeros(arm.sum(), np.int32)
    )
    assert denoise([path, cut], tmp_path / "out", model_path) == 0
    den = hdu_rows(tmp_path / "out" / SINGLE, "DENOISED")[0]
    flags = hdu_rows(tmp_path / "out" / SINGLE, "DENOISED_MASK", np.int64)[0]
    assert np.isnan(den[~arm]).all() and np.all(flags[~arm] == OUTSIDE_ARM)
    alone = hdu_rows(tmp_path / "out" / "cut.fits", "DENOISED")[0]
    np.testing.assert_allclose(den[arm], alone, rtol=1e-5)


def test_low_resolution_sampling_is_refused(tmp_path, toy, model_path, capsys):
    coarse = np.arange(840.0, 870.0, 0.1)
    flux = np.interp(coarse, NM, toy["flux"][0])
    var = np.interp(coarse, NM, toy["var"][0])
    path = write_single(tmp_path / SINGLE, coarse, flux, var, np.zeros(coarse.size, np.int32))
    assert denoise([path], tmp_path / "out", model_path) == 1
    out = capsys.readouterr()
    assert (
        "0.1 nm pixels are coarser than the MR arm's 0.059 nm: this looks like low-resolution data"
        in out.err
    )
    assert not (tmp_path / "out" / SINGLE).exists()


def test_arms_without_mr_are_refused(tmp_path, toy):
    f, v, m = toy["flux"][:2], toy["var"][:2], bits(toy["mask"][:2], "BAD")
    path = write_fiber_array_set(
        tmp_path / "pfsArm-097821-r1.fits", np.tile(NM, (2, 1)), f, v, m, fibers=[1, 2], arm="r"
    )
    with pytest.raises(ProductError, match="no medium-resolution"):
        read_input(path)
    single = write_single(tmp_path / SINGLE, NM, f[0], v[0], m[0], arms=("brn",))
    with pytest.raises(ProductError, match="arms brn: no medium-resolution"):
        read_input(single)


def test_pfsarm_in_electrons_is_warned_and_fibres_selected(tmp_path, toy, model_path, capsys):
    """Per-fibre wavelength arrays (each fibre's own), electrons warned in the log, the
    summary and the output; --fiber-id leaves the other fibres NaN and flagged."""
    n = 4
    waves = np.stack([NM + 0.004 * i for i in range(n)])
    flux = np.stack([np.interp(w, NM, f) for w, f in zip(waves, toy["flux"][:n], strict=True)]) * 50
    var = np.stack([np.interp(w, NM, v) for w, v in zip(waves, toy["var"][:n], strict=True)]) * 2500
    path = write_fiber_array_set(
        tmp_path / "pfsArm-097821-m1.fits",
        waves,
        flux,
        var,
        bits(toy["mask"][:n], "SAT"),
        fibers=[11, 12, 13, 14],
    )
    assert denoise([path], tmp_path / "out", model_path, "--fiber-id", "12", "14") == 0
    out = capsys.readouterr()
    assert "uncalibrated flux (electron)" in out.err and "uncalibrated flux" in out.out
    result = tmp_path / "out" / path.name
    den = hdu_rows(result, "DENOISED")
    flags = hdu_rows(result, "DENOISED_MASK", np.int64)
    assert np.isnan(den[0]).all() and np.all(flags[0] == NOT_DENOISED)
    assert np.isfinite(den[1]).all() and np.all(flags[1] & DOMAIN_WARNING)
    with fits.open(result) as hdul:
        info = hdul["DENOISED_INFO"].data
        assert list(info["status"]) == ["not selected", "ok", "not selected", "ok"]
        assert "uncalibrated" in info["warnings"][1]


def test_a_test_shard_in_njy_and_nm_matches_shard_denoising(tmp_path, model_path):
    """The project's shard path (evaluate.predict.denoise_shard on normalized f_lambda) and a
    pfsCalibrated made from the same shard in nJy and nm give the same denoised spectra."""
    import pandas as pd

    from pfsdenoise.denoise.model import load_model
    from pfsdenoise.evaluate.predict import denoise_shard
    from pfsdenoise.shards import read_shard, write_shard
    from pfsdenoise.spectrum import masked_median

    t = toy_spectra(5, np.random.default_rng(8), WAVE)
    norm = masked_median(t["flux"], ~t["mask"])[:, None]  # the simulator's normalization
    spectra = {k: (t[k] / norm).astype(np.float32) for k in ("flux", "flux_true", "sigma")}
    spectra["mask"] = t["mask"]
    ids = pd.DataFrame({"spectrum_id": [f"test/x/{i:06d}" for i in range(5)]})
    shard = write_shard(
        tmp_path / "x.parquet",
        ids,
        spectra,
        WAVE,
        extra_metadata={"normalization": {"method": "median", "window": [7100.0, 8850.0]}},
    )
    denoise_shard(
        shard, tmp_path / "pred.parquet", load_model(model_path, "cpu"), method="m", batch_size=4
    )
    expected = read_shard(tmp_path / "pred.parquet").spectra["flux_denoised"]

    fnu = [to_njy(NM, f, 3e-17) for f in spectra["flux"]]
    var = [to_njy(NM, s, 3e-17) ** 2 for s in spectra["sigma"]]
    path = write_target_spectra(
        tmp_path / "pfsCalibrated-shard.fits", [NM] * 5, fnu, var, list(bits(t["mask"], "NO_DATA"))
    )
    assert denoise([path], tmp_path / "out", model_path) == 0
    den = hdu_rows(tmp_path / "out" / path.name, "DENOISED")
    got = np.stack([from_njy(NM, d, 3e-17) for d in den])
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


def test_planes_names_match_the_ga_pipeline_default(tmp_path, toy):
    """Default rejection: BAD, CR, SAT, UNMASKEDNAN, NO_DATA; INTRP and BAD_SKY are kept."""
    kept = np.zeros(NM.size, np.int32)
    kept[[1, 2]] = (1 << PLANES["INTRP"]) | (1 << PLANES["BAD_SKY"])
    rejected = np.zeros(NM.size, np.int32)
    for i, name in enumerate(("BAD", "CR", "SAT", "UNMASKEDNAN", "NO_DATA")):
        rejected[10 + i] = 1 << PLANES[name]
    path = write_single(tmp_path / SINGLE, NM, toy["flux"][0], toy["var"][0], kept | rejected)
    mask = read_input(path).mask[0]
    assert np.array_equal(np.flatnonzero(mask), np.arange(10, 15))


def test_snr_outside_the_model_card_range_is_warned(tmp_path, toy, model_path, model):
    sigma = 5.0 * np.median(toy["flux"][0]) / model.card["snr"]["min"]  # S/N a fifth of it
    var = np.full(NM.size, sigma**2)
    path = write_single(tmp_path / SINGLE, NM, toy["flux"][0], var, np.zeros(NM.size, np.int32))
    assert denoise([path], tmp_path / "out", model_path) == 0
    flags = hdu_rows(tmp_path / "out" / SINGLE, "DENOISED_MASK", np.int64)[0]
    with fits.open(tmp_path / "out" / SINGLE) as hdul:
        assert (
            "outside the range the model was trained on"
            in hdul["DENOISED_INFO"].data["warnings"][0]
        )
    assert np.all(flags & DOMAIN_WARNING)
