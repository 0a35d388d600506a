"""Denoising user spectra on a shifted grid through the Python API and the CLI, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from pfsdenoise.cli import main
from pfsdenoise.denoise.api import (
    SpectrumError,
    load_spectrum_denoiser,
    norm_window,
    pixel_edges,
    rebin_matrix,
)
from pfsdenoise.denoise.formats import Columns, InputFormatError, read_fits_provenance, read_spectra
from pfsdenoise.learn.testdata import toy_spectra, write_toy_shard
from pfsdenoise.shards import read_metadata, read_shard

SHIFTED = np.linspace(8403.3, 8697.1, 460)
"""A grid of the model's arm with other pixel centres and widths than the model's 512."""
SCALE = 3e-17
"""User flux units (erg/s/cm²/Å-like): the API must normalize and undo it."""


def rms(a: np.ndarray, b: np.ndarray, use: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b)[use] ** 2)))


@pytest.fixture(scope="module")
def model(model_path):
    return load_spectrum_denoiser(model_path, "cpu")


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
        (SHIFTED[::-1], "not strictly increasing"),
        (np.where(np.arange(460) == 50, 8000.0, SHIFTED), "not strictly increasing"),
    ],
)
def test_bad_wavelengths(model, toy, wave, match):
    with pytest.raises(SpectrumError, match=match):
        model.denoise(wave, toy["flux"][0], toy["sigma"][0], source="mine.fits")


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
    assert read_fits_provenance(out / "table.fits")["model"] == str(model_path)

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
        read_spectra(junk)
    paths, _ = write_inputs(tmp_path, toy)
    with pytest.raises(InputFormatError, match=r"no flux column 'FLUX'.*--flux-column"):
        read_spectra(paths["table"], Columns(wave="LAMBDA"))
    argv = ["denoise", "--model", str(model_path), str(junk), "-o", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "spectrum.txt" in capsys.readouterr().err
    argv = ["denoise", "--model", str(model_path), str(paths["table"]), "-o", str(tmp_path)]
    assert main(argv) == 2
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
    assert main(argv) == 2
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
