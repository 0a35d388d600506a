"""BOSZ importer on tiny fixture files written in each release's exact format."""

import bz2
import gzip
import json

import numpy as np
import pytest
from astropy.io import fits
from grid_helpers import RANGE, line_minimum, spectrum

from pfsdenoise.grid.importer import import_grid
from pfsdenoise.grid.sources import GridImportError
from pfsdenoise.grid.store import open_grid

NODES = [(4000, 1.0, -0.25, 0.25), (4000, 2.0, -0.25, 0.25), (5000, 2.0, -0.25, 0.25)]


def import_bosz(directory, out, release="2017"):
    options = {"release": release, "vturb": 2}
    import_grid("bosz", directory, out, resolution=50000, options=options, **RANGE)


def bosz_wave(resolution, start=8350.0, stop=8750.0):
    step = (300000 // resolution // 2) * np.log1p(1 / 300000)
    return start * np.exp(step * np.arange(int(np.log(stop / start) / step)))


def name_2017(teff, logg, mh, alpha, r, ext):
    def s(x):
        return ("m" if x < 0 else "p") + f"{round(abs(x) * 10):02d}"

    return f"am{s(mh)}cp00o{s(alpha)}t{teff}g{round(logg * 10):02d}v20modrt0b{r}rs.{ext}"


def write_2017(root, fmt, r=50000, medium="vacuum", nodes=NODES):
    wave = bosz_wave(r)
    for teff, logg, mh, alpha in nodes:
        folder = (
            root
            / ("fits" if fmt == "fits" else "ascii")
            / f"insbroad_{r:06d}"
            / f"metal_{mh:+.2f}"
            / "carbon_+0.00"
            / f"alpha_{alpha:+.2f}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        flux, cont = spectrum(wave, teff, medium)
        printed = np.round(wave, 3)
        if fmt == "fits":
            cols = [
                fits.Column(name="Wavelength", format="D", array=printed),
                fits.Column(name="SpecificIntensity", format="E", array=flux / np.pi),
                fits.Column(name="Continuum", format="E", array=cont / np.pi),
            ]
            fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(
                folder / name_2017(teff, logg, mh, alpha, r, "fits")
            )
        else:
            text = "".join(
                f"{w:.3f} {f / np.pi:.6e} {c / np.pi:.6e}\n"
                for w, f, c in zip(printed, flux, cont, strict=True)
            )
            (folder / name_2017(teff, logg, mh, alpha, r, "asc.bz2")).write_bytes(
                bz2.compress(text.encode())
            )
    return wave


def test_2017_fits_layout_flux_and_holes(tmp_path):
    wave = write_2017(tmp_path / "bosz", "fits")
    import_bosz(tmp_path / "bosz", tmp_path / "grid")
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["source"] == "bosz2017"
    np.testing.assert_array_equal(grid.axes["teff"], [4000, 5000])
    np.testing.assert_array_equal(grid.valid[:, :, 0, 0], [[True, True], [False, True]])
    flux, _ = spectrum(grid.wave, 5000)
    np.testing.assert_allclose(grid.flux[1, 1, 0, 0], flux, rtol=1e-5)
    # the rebuilt grid is the exact log-uniform one, not the 3-decimal print
    sel = (wave >= grid.wave[0] - 1e-3) & (wave <= grid.wave[-1] + 1e-3)
    np.testing.assert_allclose(grid.wave, wave[sel], rtol=1e-8)  # print: 6e-8
    assert grid.metadata["metadata"]["medium_in_files"] == "vacuum"
    assert grid.metadata["metadata"]["native_samples_kept"]
    assert grid.metadata["resolution"] == pytest.approx(50000, rel=1e-4)


def test_2017_ascii_in_air_is_converted_to_vacuum(tmp_path):
    write_2017(tmp_path / "bosz", "ascii", medium="air")
    import_bosz(tmp_path / "bosz", tmp_path / "grid")
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["metadata"]["medium_in_files"] == "air"
    assert not grid.metadata["metadata"]["native_samples_kept"]  # converted, then rebinned
    assert abs(line_minimum(grid.wave, grid.flux[0, 0, 0, 0]) - 8544.44) < 0.1


def test_2024_txt_gz_with_wave_file(tmp_path):
    root = tmp_path / "b24"
    root.mkdir()
    wave = np.round(bosz_wave(50000), 4)
    (root / "bosz2024_wave_r50000.txt").write_text("".join(f"{w:.4f}\n" for w in wave))
    for teff, logg, mh, alpha in NODES:
        flux, cont = spectrum(wave, teff)
        name = f"bosz2024_mp_t{teff}_g{logg:+.1f}_m{mh:+.2f}_a{alpha:+.2f}_c+0.00_v2_r50000_resam.txt.gz"
        text = "".join(
            f"{f / 4 / np.pi:.6e} {c / 4 / np.pi:.6e}\n" for f, c in zip(flux, cont, strict=True)
        )
        (root / name).write_bytes(gzip.compress(text.encode()))
    import_bosz(root, tmp_path / "grid", release="2024")
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["source"] == "bosz2024" and grid.valid.sum() == 3
    flux, cont = spectrum(grid.wave, 4000)
    np.testing.assert_allclose(grid.continuum[0, 0, 0, 0], cont, rtol=1e-4)


def test_refuses_low_resolution(tmp_path):
    write_2017(tmp_path / "bosz", "fits", r=5000)
    with pytest.raises(GridImportError, match=r"R = 5000.*R >= 20000"):
        import_bosz(tmp_path / "bosz", tmp_path / "grid")
    assert not (tmp_path / "grid").exists()


def test_bad_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist \(grid.bosz.directory\)"):
        import_bosz(tmp_path / "nowhere", tmp_path / "grid")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GridImportError, match="no BOSZ 2017 model files"):
        import_bosz(tmp_path / "empty", tmp_path / "grid")


def test_unreadable_file_is_a_recorded_skip(tmp_path):
    write_2017(tmp_path / "bosz", "fits")
    bad = next((tmp_path / "bosz").rglob("*t5000*.fits"))
    (bad.parent / "notes_about_models.fits").write_bytes(b"x")  # unparsable name
    bad.write_bytes(bad.read_bytes()[:3000])  # truncated
    import_bosz(tmp_path / "bosz", tmp_path / "grid")
    grid = open_grid(tmp_path / "grid")
    assert grid.valid.sum() == 2 and not grid.valid[1, 1, 0, 0]  # t5000 is a hole
    skipped = json.loads((tmp_path / "grid" / "grid.json").read_text())["metadata"]["skipped"]
    assert any("notes_about_models.fits" in s and "pattern" in s for s in skipped)
    assert any(bad.name in s and "cannot read" in s for s in skipped)


def test_negative_flux_is_refused(tmp_path):
    write_2017(tmp_path / "bosz", "ascii", nodes=NODES[:1])
    path = next((tmp_path / "bosz").rglob("*.asc.bz2"))
    lines = bz2.decompress(path.read_bytes()).decode().splitlines()
    w, _, c = lines[len(lines) // 2].split()
    lines[len(lines) // 2] = f"{w} -1.0 {c}"
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(GridImportError, match=r"could be imported: .*NaN or negative flux"):
        import_bosz(tmp_path / "bosz", tmp_path / "grid")
    assert not (tmp_path / "grid").exists()
