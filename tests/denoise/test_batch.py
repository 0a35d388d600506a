"""Many files in one call (files, globs, folders), bad files skipped, the summary, provenance in
the FITS header, and the uncertainty of models that give one (DENOISED_ERR)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from denoise_helpers import ErrorModel

from pfsdenoise.cli import main
from pfsdenoise.denoise.api import SpectrumDenoiser, load_spectrum_denoiser
from pfsdenoise.denoise.batch import run_batch
from pfsdenoise.denoise.formats import read_input
from pfsdenoise.denoise.hdus import read_rows
from pfsdenoise.denoise.inputs import ReadOptions
from pfsdenoise.denoise.run import card_checksum
from pfsdenoise.denoise.testdata import bits, to_njy, write_target_spectra
from pfsdenoise.errors import EXIT_DATA
from pfsdenoise.learn.testdata import toy_spectra
from pfsdenoise.provenance import file_checksum, read_record

WAVE = np.linspace(8400.0, 8700.0, 512)
NM = WAVE / 10


def calibrated(path, n=3, seed=0):
    t = toy_spectra(n, np.random.default_rng(seed), WAVE)
    flux = [to_njy(NM, f) for f in t["flux"]]
    var = [to_njy(NM, s) ** 2 for s in t["sigma"]]
    return write_target_spectra(path, [NM] * n, flux, var, list(bits(t["mask"], "BAD")))


def test_files_globs_folders_and_a_bad_file(tmp_path, model_path, capsys):
    folder = tmp_path / "night1"
    folder.mkdir()
    calibrated(folder / "pfsCalibrated-a.fits")
    calibrated(folder / "pfsCalibrated-b.fits", seed=1)
    (folder / "notes.txt").write_text("not a spectrum")
    (folder / "broken.fits").write_bytes(b"SIMPLE  =   garbage")
    more = tmp_path / "more"
    more.mkdir()
    calibrated(more / "pfsCalibrated-c.fits", seed=2)
    calibrated(more / "pfsCalibrated-d.fits", seed=3)
    out = tmp_path / "out"
    argv = [
        "denoise",
        "--model",
        str(model_path),
        str(folder),
        str(more / "*-c.fits"),
        str(more / "pfsCalibrated-d.fits"),
        str(tmp_path / "missing.fits"),
        "-o",
        str(out),
        "--device",
        "cpu",
        "--summary",
        str(tmp_path / "summary.tsv"),
    ]
    assert main(argv) == 1
    printed = capsys.readouterr()
    assert "broken.fits: failed" in printed.err and "missing.fits" in printed.out
    assert sorted(p.name for p in out.iterdir()) == [f"pfsCalibrated-{c}.fits" for c in "abcd"]
    lines = (tmp_path / "summary.tsv").read_text().splitlines()
    assert lines[0] == "file\tobject\tsnr\twarnings\tstatus"
    assert sum(line.endswith("\tok") for line in lines) == 12
    assert sum("\tfailed: " in line for line in lines) == 2
    assert "notes.txt" not in printed.out  # folders contribute FITS and Parquet files only


def test_provenance_cards_and_command(tmp_path, model_path, capsys):
    path = calibrated(tmp_path / "pfsCalibrated-p.fits")
    out = tmp_path / "out"
    assert (
        main(["denoise", "--model", str(model_path), str(path), "-o", str(out), "--device", "cpu"])
        == 0
    )
    result = out / path.name
    record = read_record(result)
    model = load_spectrum_denoiser(model_path, "cpu")
    header = fits.getheader(result, 0)
    assert header["PFSDINCK"] == file_checksum(path).removeprefix("sha256:")
    assert header["PFSDCARD"] == card_checksum(model.card).removeprefix("sha256:")
    assert header["PFSDMODL"] == "model.pt" and header["PFSDVERS"] == record["version"]
    assert [i["path"] for i in record["inputs"]] == [str(path), str(model_path)]
    assert record["product"] == "pfsCalibrated" and record["options"]["mask_planes"][0] == "BAD"
    capsys.readouterr()
    assert main(["provenance", str(result)]) == 0
    chain = capsys.readouterr().out
    assert f"{result} <- denoise: 2 inputs" in chain and f"{model_path} <- train" in chain
    # the input is never overwritten, not even through another spelling of its folder
    argv = ["denoise", "--model", str(model_path), str(path), "-o", str(tmp_path / "." / "")]
    assert main(argv) == EXIT_DATA


def test_models_with_an_uncertainty_fill_denoised_err(tmp_path):
    path = calibrated(tmp_path / "pfsCalibrated-e.fits")
    model = SpectrumDenoiser(ErrorModel(WAVE, tmp_path / "fake.pt"))
    summary, failed = run_batch(model, [path], tmp_path / "out", ReadOptions())
    assert failed == 0 and [r.status for r in summary] == ["ok"] * 3
    src = read_input(path)
    with fits.open(tmp_path / "out" / path.name) as hdul:
        err = read_rows(hdul["DENOISED_ERR"])
        den = read_rows(hdul["DENOISED"])
        assert hdul["DENOISED_ERR"].header["BUNIT"] == "nJy"
    for f, s, m, d, e in zip(src.flux, src.sigma, src.mask, den, err, strict=True):
        np.testing.assert_allclose(d[~m], f[~m], rtol=1e-5)
        np.testing.assert_allclose(e[~m], 0.5 * s[~m], rtol=1e-5)


def test_selection_by_target_and_object(tmp_path, model_path):
    path = calibrated(tmp_path / "pfsCalibrated-s.fits", n=4)
    model = load_spectrum_denoiser(model_path, "cpu")
    summary, _ = run_batch(
        model, [path], tmp_path / "t", ReadOptions(), selection={"target_ids": [1]}
    )
    assert [r.object.split()[0] for r in summary] == ["targetId=1"]
    summary, _ = run_batch(
        model, [path], tmp_path / "o", ReadOptions(), selection={"obj_ids": [0x1002, 0x1003]}
    )
    assert [r.object.split()[0] for r in summary] == ["targetId=2", "targetId=3"]
    summary, failed = run_batch(
        model, [path], tmp_path / "n", ReadOptions(), selection={"obj_ids": [7]}
    )
    assert failed == 1 and "no spectrum matches" in summary[0].status


def test_objid_selection_of_a_pfsarm_explains_where_objids_are(tmp_path, model_path):
    from pfsdenoise.denoise.testdata import write_fiber_array_set

    t = toy_spectra(2, np.random.default_rng(0), WAVE)
    path = write_fiber_array_set(
        tmp_path / "pfsArm-000001-m1.fits",
        np.tile(NM, (2, 1)),
        t["flux"],
        t["sigma"] ** 2,
        bits(t["mask"], "BAD"),
        fibers=[5, 6],
    )
    model = load_spectrum_denoiser(model_path, "cpu")
    summary, failed = run_batch(
        model, [path], tmp_path / "o", ReadOptions(), selection={"obj_ids": [1]}
    )
    assert failed == 1 and "pfsConfig" in summary[0].status


@pytest.mark.parametrize("name", ["ERROR", "VARIANCE", "IVAR"])
def test_generic_tables_take_sigma_variance_or_inverse_variance(tmp_path, model_path, name):
    t = toy_spectra(1, np.random.default_rng(5), WAVE)
    sigma = t["sigma"][0]
    values = {"ERROR": sigma, "VARIANCE": sigma**2, "IVAR": 1 / sigma**2}[name]
    cols = [
        fits.Column("WAVELENGTH", "D", array=NM, unit="nm"),
        fits.Column("FLUX", "E", array=t["flux"][0]),
        fits.Column(name, "E", array=values),
        fits.Column("MASK", "L", array=t["mask"][0]),
    ]
    path = tmp_path / f"{name}.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    src = read_input(path)
    np.testing.assert_allclose(src.sigma[0], sigma, rtol=1e-6)
    assert np.array_equal(src.mask[0], t["mask"][0])
    assert (name == "ERROR") != any("named like" in n for n in src.notes)


def test_gzipped_input_and_denoising_a_denoised_file(tmp_path, model_path):
    import gzip

    path = calibrated(tmp_path / "pfsCalibrated-z.fits")
    packed = tmp_path / "pfsCalibrated-z.fits.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    model = load_spectrum_denoiser(model_path, "cpu")
    _, failed = run_batch(model, [packed], tmp_path / "a", ReadOptions())
    assert failed == 0
    first = tmp_path / "a" / packed.name
    assert first.read_bytes()[:2] == b"\x1f\x8b"  # written gzip-compressed, as named
    _, failed = run_batch(model, [first], tmp_path / "b", ReadOptions())
    assert failed == 0
    with fits.open(first) as a, fits.open(tmp_path / "b" / packed.name) as b:
        assert [h.name for h in b].count("DENOISED") == 1
        np.testing.assert_array_equal(a["DENOISED"].data, b["DENOISED"].data)
