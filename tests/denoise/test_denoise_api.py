"""Denoising user spectra on a shifted grid through the Python API and the CLI, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from pfsdenoise.cli import main
from pfsdenoise.denoise.api import SpectrumError, norm_window
from pfsdenoise.denoise.formats import InputFormatError, read_input
from pfsdenoise.denoise.inputs import ReadOptions
from pfsdenoise.denoise.rebin import pixel_edges, rebin_matrix
from pfsdenoise.errors import EXIT_CHECKPOINT, EXIT_DATA
from pfsdenoise.learn.testdata import toy_spectra, write_toy_shard
from pfsdenoise.provenance import read_record
from pfsdenoise.shards import read_metadata, read_shard

SHIFTED = np.linspace(8403.3, 8697.1, 460)
"""A grid of the model's arm with other pixel centres and widths than the model's 512."""
SCALE = 3e-17
"""User flux units (erg/s/cm²/Å-like): the API must normalize and undo it."""


def rms(a: np.ndarray, b: np.ndarray, use: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b)[use] ** 2)))


@pytest.fixture(scope="module")
def toy():
    return toy_spectra(12, np.random.default_rng(11), SHIFTED)


def test_rebin_conserves_flux():
    w_in = np.arange(8400.0, 8700.0)  # edges at half-integers
    half = 280.0 / 123 / 2
    w_out = np.linspace(8409.5 + half, 8689.5 - half, 123)  # outer edges on input edges
    matrix = rebin_matrix(w_in, w_out)
    f = 1 + np.sin(w_in / 7)
    lo, hi = pixel_edges(w_out)[[0, -1]]
    e_in = pixel_edges(w_in)
    inside = (e_in[:-1] >= lo) & (e_in[1:] <= hi)
    total_out = np.sum(matrix @ f * np.diff(pixel_edges(w_out)))
    total_in = np.sum((f * np.diff(e_in))[inside])
    assert total_out == pytest.approx(total_in, rel=1e-9)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


def test_norm_window_from_the_shard_metadata(tmp_path):
    wave = np.linspace(7000.0, 9000.0, 201)
    assert norm_window({"method": "median", "window": [8000, 8100]}, wave).sum() == 11
    # no window recorded, or one holding no pixel: the whole grid
    assert norm_window(None, wave).all() and norm_window({"window": [1, 2]}, wave).all()


def test_api_improves_on_shifted_grid(model, toy):
    res = model.denoise(SHIFTED, toy["flux"] * SCALE, toy["sigma"] * SCALE, toy["mask"])
    assert res.flux.shape == toy["flux"].shape and np.array_equal(res.wave, SHIFTED)
    use = ~res.mask
    assert use.mean() > 0.95
    assert rms(res.flux / SCALE, toy["flux_true"], use) < 0.7 * rms(
        toy["flux"], toy["flux_true"], use
    )
    one = model.denoise(SHIFTED, toy["flux"][0] * SCALE, toy["sigma"][0] * SCALE)
    assert one.flux.shape == SHIFTED.shape
    on_model = model.denoise(
        SHIFTED, toy["flux"] * SCALE, toy["sigma"] * SCALE, on_input_grid=False
    )
    assert on_model.flux.shape == (12, model.wave.size)


def test_zero_sigma_everywhere_is_named_as_the_cause(model, toy):
    """Before: the misleading "median flux in the normalization window is nan"."""
    flux, sigma = toy["flux"][:2].copy(), np.zeros_like(toy["sigma"][:2])
    with pytest.raises(SpectrumError, match=r"spectrum 0: no usable pixel in the normalization "
                       r"window \(σ = 0 at 460 of 460 pixels\); give each pixel its 1σ"):  # fmt: skip
        model.denoise(SHIFTED, flux, sigma)


def test_nan_and_negative_sigma_are_masked_not_propagated(model, toy):
    flux, sigma = toy["flux"][:2].copy(), toy["sigma"][:2].copy()
    flux[0, 100:103] = np.nan
    sigma[1, 200] = -1.0
    sigma[1, 201] = np.nan
    res = model.denoise(SHIFTED, flux, sigma)
    assert np.isfinite(res.flux[~res.mask]).all()
    assert np.isfinite(res.flux[0, 95:110]).all() and np.isfinite(res.flux[1, 195:205]).all()
    assert res.mask[0, 100:103].all() and res.mask[1, 200:202].all()
    assert not res.mask[0, 90:97].any()


@pytest.mark.parametrize(
    ("wave", "match"),
    [
        (SHIFTED + 400.0, "outside the model's arm"),
        (np.where(np.arange(460) == 50, 8000.0, SHIFTED), "not strictly monotonic"),
        (np.where(np.arange(460) == 50, np.nan, SHIFTED), "NaN"),
        (np.linspace(8403.3, 8697.1, 200), "pixels are coarser than the MR arm's"),
    ],
)
def test_bad_wavelengths(model, toy, wave, match):
    flux, sigma = (np.interp(wave, SHIFTED, toy[k][0]) for k in ("flux", "sigma"))
    with pytest.raises(SpectrumError, match=match) as err:
        model.denoise(wave, flux, sigma, source="mine.fits")
    assert str(err.value).startswith("mine.fits: ")


def test_reversed_wavelengths_give_the_reversed_result(model, toy):
    forward = model.denoise(SHIFTED, toy["flux"][:3], toy["sigma"][:3], toy["mask"][:3])
    back = model.denoise(
        SHIFTED[::-1], toy["flux"][:3, ::-1], toy["sigma"][:3, ::-1], toy["mask"][:3, ::-1]
    )
    np.testing.assert_allclose(back.flux[:, ::-1], forward.flux, rtol=1e-6)
    assert np.array_equal(back.mask[:, ::-1], forward.mask)


def test_each_spectrum_on_its_own_grid(model, toy):
    """A 2-D wavelength array, and a list of arrays of different lengths, give what one call
    per spectrum gives."""
    rng = np.random.default_rng(4)
    waves = [SHIFTED + rng.uniform(-0.3, 0.3) for _ in range(3)]
    fluxes = [np.interp(w, SHIFTED, f) for w, f in zip(waves, toy["flux"][:3], strict=True)]
    sigmas = [np.interp(w, SHIFTED, s) for w, s in zip(waves, toy["sigma"][:3], strict=True)]
    alone = [model.denoise(w, f, s).flux for w, f, s in zip(waves, fluxes, sigmas, strict=True)]
    stacked = model.denoise(np.stack(waves), np.stack(fluxes), np.stack(sigmas))
    np.testing.assert_allclose(stacked.flux, np.stack(alone), rtol=1e-6)
    ragged = model.denoise(
        [waves[0][:400], waves[1]], [fluxes[0][:400], fluxes[1]], [sigmas[0][:400], sigmas[1]]
    )
    assert [f.size for f in ragged.flux] == [400, 460]
    np.testing.assert_allclose(ragged.flux[1], alone[1], rtol=1e-6)


def test_wide_spectrum_is_cut_to_the_arm(model, toy):
    """A spectrum covering much more than the arm is denoised inside it, NaN and flagged
    outside, and inside equals denoising the cut spectrum alone."""
    step = SHIFTED[1] - SHIFTED[0]
    wide = np.arange(8100.0, 9000.0, step)
    arm = (wide >= pixel_edges(model.wave)[0]) & (wide <= pixel_edges(model.wave)[-1])
    flux = np.where(arm, np.interp(wide, SHIFTED, toy["flux"][0]), 7.0)
    sigma = np.where(arm, np.interp(wide, SHIFTED, toy["sigma"][0]), 0.1)
    res = model.denoise(wide, flux, sigma)
    assert np.array_equal(res.outside, ~arm)
    assert np.isnan(res.flux[~arm]).all() and res.mask[~arm].all()
    alone = model.denoise(wide[arm], flux[arm], sigma[arm])
    np.testing.assert_allclose(res.flux[arm], alone.flux, rtol=1e-6)


def test_flagged_spectra_do_not_stop_the_others(model, toy):
    waves = [SHIFTED, SHIFTED + 600.0, SHIFTED]
    flux = [toy["flux"][0], toy["flux"][1], -toy["flux"][2]]
    res = model.denoise(waves, flux, list(toy["sigma"][:3]), errors="flag")
    assert set(res.refused) == {1, 2}
    assert "no pixel in the model's arm" in res.refused[1]
    assert "positive flux" in res.refused[2]
    assert np.isnan(res.flux[1]).all() and np.isfinite(res.flux[0][~res.mask[0]]).all()
    with pytest.raises(SpectrumError, match="spectrum 1: no pixel"):
        model.denoise(waves, flux, list(toy["sigma"][:3]))


def test_shape_mismatch(model, toy):
    with pytest.raises(SpectrumError, match="pixels"):
        model.denoise(SHIFTED[:-1], toy["flux"][0], toy["sigma"][0])
    with pytest.raises(SpectrumError, match="one shape"):
        model.denoise(SHIFTED, toy["flux"][:2], toy["sigma"][:1])


def noisiest(toy) -> tuple[int, int]:
    """The two lowest-S/N spectra (a tiny model cannot improve much on S/N ≈ 100)."""
    a, b = np.argsort(toy["snr"])[:2]
    return int(a), int(b)


def write_inputs(root, toy):
    """The three FITS layouts and a Parquet shard, all on the shifted grid."""
    i, j = noisiest(toy)
    n = len(SHIFTED)
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    cols = [
        fits.Column(name="LAMBDA", format="D", array=SHIFTED / 10, unit="nm"),
        fits.Column(name="F", format="E", array=toy["flux"][i] * SCALE),
        fits.Column(name="ERR", format="E", array=toy["sigma"][i] * SCALE),
    ]
    paths["table"] = root / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(paths["table"])
    rows = [
        fits.Column(name="LAMBDA", format=f"{n}D", array=np.tile(SHIFTED, (12, 1))),
        fits.Column(name="F", format=f"{n}E", array=toy["flux"] * SCALE),
        fits.Column(name="ERR", format=f"{n}E", array=toy["sigma"] * SCALE),
    ]
    paths["rows"] = root / "rows.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(rows)]).writeto(paths["rows"])
    grid = np.linspace(8402.0, 8698.0, 450)  # linear WCS
    flux = np.interp(grid, SHIFTED, toy["flux"][j])
    img = fits.PrimaryHDU((flux * SCALE).astype(np.float32))
    img.header.update(CRVAL1=grid[0], CDELT1=grid[1] - grid[0], CRPIX1=1.0, CUNIT1="Angstrom")
    err = fits.ImageHDU((np.interp(grid, SHIFTED, toy["sigma"][j]) * SCALE).astype(np.float32))
    paths["image"] = root / "image.fits"
    fits.HDUList([img, err]).writeto(paths["image"])
    paths["parquet"] = write_toy_shard(root / "shard.parquet", 12, 11, SHIFTED)
    return paths, grid


def test_cli_fits_and_parquet_improve(model_path, tmp_path, toy):
    paths, grid = write_inputs(tmp_path / "in", toy)
    out = tmp_path / "out"
    argv = [
        "denoise",
        "--model",
        str(model_path),
        *map(str, paths.values()),
        "-o",
        str(out),
        "--wave-column",
        "lambda",
        "--flux-column",
        "F",
        "--error-column",
        "ERR",
        "--batch-size",
        "4",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    truth = toy["flux_true"]
    i, j = noisiest(toy)

    with fits.open(out / "table.fits") as hdul:
        got = hdul[1].data["FLUX_DENOISED"] / SCALE
    use = np.isfinite(got)
    assert rms(got, truth[i], use) < 0.8 * rms(toy["flux"][i], truth[i], use)
    assert read_record(out / "table.fits")["model"] == str(model_path)

    with fits.open(out / "rows.fits") as hdul:
        got = hdul[1].data["FLUX_DENOISED"] / SCALE
        assert hdul[0].header["PFSDSTEP"] == "denoise"
    use = np.isfinite(got)
    assert rms(got, truth, use) < 0.7 * rms(toy["flux"], truth, use)

    with fits.open(out / "image.fits") as hdul:
        got = hdul["DENOISED"].data / SCALE
        assert hdul["DENOISED"].header["CDELT1"] == pytest.approx(grid[1] - grid[0])
    t1, f1 = np.interp(grid, SHIFTED, truth[j]), np.interp(grid, SHIFTED, toy["flux"][j])
    use = np.isfinite(got)
    assert rms(got, t1, use) < 0.8 * rms(f1, t1, use)

    shard = read_shard(out / "shard.parquet")
    use = ~shard.spectra["mask"] & np.isfinite(shard.spectra["flux_denoised"])
    assert rms(shard.spectra["flux_denoised"], shard.spectra["flux_true"], use) < 0.7 * rms(
        shard.spectra["flux"], shard.spectra["flux_true"], use
    )
    meta = read_metadata(out / "shard.parquet")
    assert meta["provenance"]["step"] == "denoise" and meta["normalization"]["method"] == "median"


def test_bad_files(model_path, tmp_path, toy, capsys):
    junk = tmp_path / "spectrum.txt"
    junk.write_text("8400 1.0 0.1\n")
    with pytest.raises(InputFormatError, match="neither a FITS file nor a Parquet"):
        read_input(junk)
    paths, _ = write_inputs(tmp_path, toy)
    with pytest.raises(InputFormatError, match=r"no flux column 'FLUX'.*--flux-column"):
        read_input(paths["table"], ReadOptions(wave_column="LAMBDA"))
    # a bad file is reported and skipped, the others are written, the exit status says so
    good = tmp_path / "good.parquet"
    paths["parquet"].rename(good)
    argv = ["denoise", "--model", str(model_path), str(junk), str(good), "-o", str(tmp_path / "o")]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "spectrum.txt" in captured.err and "failed" in captured.out
    assert (tmp_path / "o" / "good.parquet").exists()
    argv = ["denoise", "--model", str(model_path), str(paths["table"]), "-o", str(tmp_path)]
    assert main(argv) == EXIT_DATA
    assert "overwrite the input" in capsys.readouterr().err


class Payload:
    """A pickled object of a foreign class: weights-only loading must refuse it."""

    def __reduce__(self):
        return (print, ("code from a model file ran",))


def test_cli_refuses_model_with_code(tmp_path, capsys):
    import torch

    bad = tmp_path / "model.pt"
    torch.save({"format": "pfsdenoise-denoiser", "x": Payload()}, bad)
    argv = ["denoise", "--model", str(bad), str(tmp_path / "x.fits"), "-o", str(tmp_path / "o")]
    assert main(argv) == EXIT_CHECKPOINT
    out = capsys.readouterr()
    assert "refused" in out.err and "code from a model file ran" not in out.out


def test_package_exports_without_torch():
    import subprocess
    import sys

    code = (
        "import sys, pfsdenoise; f = pfsdenoise.load_spectrum_denoiser; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
