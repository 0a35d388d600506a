"""PHOENIX-ACES importer on tiny HiRes fixture files written in the library's exact layout."""

import json

import numpy as np
import pytest
from astropy.io import fits
from grid_helpers import RANGE, equivalent_width, line_minimum, spectrum

from pfsdenoise.grid.importer import import_grid
from pfsdenoise.grid.phoenix import HEADER_KEYS
from pfsdenoise.grid.sources import GridImportError
from pfsdenoise.grid.store import open_grid
from pfsdenoise.grid.wavelength import vacuum_to_air

WAVE_FILE = "WAVE_PHOENIX-ACES-AGSS-COND-2011.fits"
NODES = [
    (3500, 1.0, -0.5, 0.2),
    (3500, 4.5, 0.0, 0.0),
    (5800, 4.5, 0.0, 0.0),
    (5800, 4.5, -0.5, 0.2),
]


def hires_wave(step=1 / 500000, start=8350.0, stop=8750.0):
    """Vacuum wavelengths at the HiRes sampling (R = 500 000)."""
    return start * np.exp(step * np.arange(int(np.log(stop / start) / step)))


def file_name(teff, logg, mh, alpha):
    z = "-0.0" if mh == 0 else f"{mh:+.1f}"
    a = "" if alpha == 0 else f".Alpha={alpha:+.2f}"
    return f"Z{z}{a}", f"lte{teff:05d}-{logg:.2f}{z}{a}.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits"


def write_phoenix(root, nodes=NODES, wave=None, medium="vacuum"):
    """The download layout: the wavelength file beside Z folders of flux-only FITS files."""
    wave = hires_wave() if wave is None else wave
    root.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(wave).writeto(root / WAVE_FILE)
    for teff, logg, mh, alpha in nodes:
        folder, name = file_name(teff, logg, mh, alpha)
        (root / folder).mkdir(exist_ok=True)
        flux, _ = spectrum(wave, teff, medium)
        hdu = fits.PrimaryHDU((flux * 1e8).astype(np.float32))  # erg s-1 cm-2 cm-1
        for key, value in zip(HEADER_KEYS, (teff, logg, mh, alpha), strict=True):
            hdu.header[key] = value
        hdu.writeto(root / folder / name)
    return wave


def import_phoenix(root, out):
    import_grid("phoenix", root, out, resolution=50000, options={"wave_file": WAVE_FILE}, **RANGE)


def test_hires_files_rebinned_onto_the_grid_conserving_flux(tmp_path):
    write_phoenix(tmp_path / "phx")
    import_phoenix(tmp_path / "phx", tmp_path / "grid")
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["source"] == "phoenix-aces" and grid.continuum is None
    np.testing.assert_array_equal(grid.axes["teff"], [3500, 5800])
    np.testing.assert_array_equal(grid.axes["alpha"], [0.0, 0.2])
    assert grid.valid.sum() == 4 and not grid.valid[0, 0, 1, 0]  # 3500/1.0/0.0/0.0: a hole
    assert grid.log_step == pytest.approx(1 / 100000)  # d ln lambda = 1/(2R), R = 50000
    assert grid.metadata["resolution"] == pytest.approx(50000)
    assert grid.metadata["metadata"]["medium_in_files"] == "vacuum"
    node = grid.flux[1, 1, 1, 0].astype(np.float64)  # 5800, 4.5, 0.0, 0.0
    flux, cont = spectrum(grid.wave, 5800)
    far = np.min(np.abs(grid.wave[:, None] - np.array([8500.36, 8544.44, 8664.52])), axis=1) > 5
    np.testing.assert_allclose(node[far], flux[far], rtol=1e-5)  # erg/s/cm2/cm -> per A
    # the rebinned lines keep their equivalent width (3 x 0.6 x 0.6 sqrt(2 pi) = 2.707 A)
    assert equivalent_width(grid.wave, node, cont) == pytest.approx(2.7072, rel=2e-3)
    assert abs(line_minimum(grid.wave, node) - 8544.44) < 0.05


def test_bad_files_are_recorded_skips(tmp_path):
    root = tmp_path / "phx"
    write_phoenix(root)
    _, name = file_name(5800, 4.5, 0.0, 0.0)
    with fits.open(root / "Z-0.0" / name, mode="update") as hdul:
        hdul[0].header["PHXTEFF"] = 6000.0  # header contradicts the name
    _, name = file_name(3500, 4.5, 0.0, 0.0)
    with fits.open(root / "Z-0.0" / name, mode="update") as hdul:
        hdul[0].data[np.searchsorted(hires_wave(), 8600.0)] = np.nan  # inside the range
    (root / "Z-0.0" / "lte05800-4.50-0.0.PHOENIX-ACES-AGSS-COND-2011-MedRes.fits").write_bytes(b"")
    import_phoenix(root, tmp_path / "grid")
    grid = open_grid(tmp_path / "grid")
    assert grid.valid.sum() == 2
    skipped = " | ".join(grid.metadata["metadata"]["skipped"])
    assert "PHXTEFF = 6000.0 contradicts the file name" in skipped
    assert "lte03500-4.50-0.0" in skipped and "NaN or negative flux" in skipped
    assert "MedRes.fits: name does not follow the PHOENIX pattern" in skipped


def test_wrong_wavelength_files_are_refused(tmp_path):
    root = tmp_path / "phx"
    write_phoenix(root)
    (root / WAVE_FILE).unlink()
    with pytest.raises(GridImportError, match=r"WAVE_PHOENIX.*missing"):
        import_phoenix(root, tmp_path / "grid")
    fits.PrimaryHDU(hires_wave()[:-10]).writeto(root / WAVE_FILE)  # another grid's length
    with pytest.raises(GridImportError, match="not the wavelength file of these spectra"):
        import_phoenix(root, tmp_path / "grid")
    (root / WAVE_FILE).unlink()
    fits.PrimaryHDU(vacuum_to_air(hires_wave())).writeto(root / WAVE_FILE)  # air
    with pytest.raises(GridImportError, match=r"air wavelengths, but PHOENIX-ACES .* vacuum"):
        import_phoenix(root, tmp_path / "grid")
    assert not (tmp_path / "grid").exists()


def test_low_resolution_sampling_is_refused(tmp_path):
    root = tmp_path / "phx"
    write_phoenix(root, wave=np.arange(8350.0, 8750.0, 0.5))  # R ~ 8500: a medium-res grid
    with pytest.raises(
        GridImportError, match=r"sampled for R = 8400 at .*R >= 20000; use the HiRes"
    ):
        import_phoenix(root, tmp_path / "grid")
    assert not (tmp_path / "grid").exists()


def test_folder_contradicting_the_name_is_skipped(tmp_path):
    root = tmp_path / "phx"
    write_phoenix(root, nodes=NODES[1:3])
    _, name = file_name(5800, 4.5, 0.0, 0.0)
    (root / "Z+0.5").mkdir()
    (root / "Z-0.0" / name).rename(root / "Z+0.5" / name)
    import_phoenix(root, tmp_path / "grid")
    manifest = json.loads((tmp_path / "grid" / "grid.json").read_text())
    assert manifest["valid"]["n_valid"] == 1
    assert any("folder Z+0.5 contradicts" in s for s in manifest["metadata"]["skipped"])
