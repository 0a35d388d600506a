"""BT-Settl importer on tiny fixture files in the two distributed forms: the 7-column ASCII
``.spec.7`` (Fortran D exponents, unsorted rows, repeats) and the FITS binary table."""

import bz2
import gzip

import numpy as np
import pytest
from astropy.io import fits
from grid_helpers import RANGE, equivalent_width, line_minimum, spectrum

from pfsdenoise.grid.btsettl import read_spec7
from pfsdenoise.grid.importer import import_grid
from pfsdenoise.grid.sources import GridImportError
from pfsdenoise.grid.store import open_grid

NODES = [(3500, 4.5, 0.0, 0.0), (3500, 5.0, 0.0, 0.0), (4000, 5.0, -0.5, 0.2)]
OPTIONS = {"log_flux_offset": -8.0, "medium": "auto"}


def btsettl_wave(seed=0, step=0.02):
    """Irregular sampling (~0.02 A, R ~ 200 000) as the models' adaptive wavelength grids."""
    rng = np.random.default_rng(seed)
    return 8350.0 + np.cumsum(rng.uniform(0.5, 1.5, int(400 / step)) * step)


def name(teff, logg, mh, alpha, kind):
    return f"lte{teff / 100:03.0f}-{logg:.1f}{mh:+.1f}a{alpha:+.1f}".replace("+0.0a", "-0.0a") + (
        ".BT-Settl.spec.7.bz2" if kind == "ascii" else ".BT-Settl.spec.fits.gz"
    )


def fortran(x):
    """A Fortran D-format number, as the models print them (0.12345678D+05)."""
    mantissa, exponent = f"{x:.8E}".split("E")
    return f"{float(mantissa) / 10:.8f}D{int(exponent) + 1:+03d}"


def write_ascii(path, wave, flux):
    """Seven columns: wavelength, log10 F + 8, log10 B + 8, four line-identification columns;
    rows shuffled (parallel model runs) and some repeated."""
    rng = np.random.default_rng(1)
    order = np.concatenate([rng.permutation(wave.size), rng.integers(0, wave.size, 50)])
    rows = [
        f" {fortran(wave[i])} {fortran(np.log10(flux[i]) + 8)} {fortran(np.log10(flux[i]) + 8.1)}"
        f"  0.00D+00  0  0  0.0\n"
        for i in order
    ]
    path.write_bytes(bz2.compress("".join(rows).encode()))


def write_fits(path, wave, flux, units=True):
    """HDU 1 binary table: Wavelength [um], Flux [W m-2 um-1] (the CIFIST files)."""
    cols = [
        fits.Column(name="Wavelength", format="D", array=wave / 1e4, unit="um" if units else None),
        fits.Column(
            name="Flux", format="D", array=flux * 10, unit="W / (m2 um)" if units else None
        ),
    ]
    buffer = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)])
    raw = path.with_suffix("")
    buffer.writeto(raw)
    path.write_bytes(gzip.compress(raw.read_bytes()))
    raw.unlink()


def write_btsettl(root, kind="ascii", nodes=NODES, medium="vacuum", wave=None):
    root.mkdir(parents=True, exist_ok=True)
    for k, (teff, logg, mh, alpha) in enumerate(nodes):
        w = btsettl_wave(seed=k) if wave is None else wave
        flux, _ = spectrum(w, teff, medium)
        path = root / name(teff, logg, mh, alpha, kind)
        (write_ascii if kind == "ascii" else write_fits)(path, w, flux)


@pytest.mark.parametrize("kind", ["ascii", "fits"])
def test_both_forms_give_the_same_grid(tmp_path, kind):
    write_btsettl(tmp_path / "bt", kind)
    import_grid("btsettl", tmp_path / "bt", tmp_path / "grid", resolution=50000,
                options=OPTIONS, **RANGE)  # fmt: skip
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["source"] == "btsettl" and grid.continuum is None
    np.testing.assert_array_equal(grid.axes["teff"], [3500, 4000])
    np.testing.assert_array_equal(grid.axes["mh"], [-0.5, 0.0])
    assert grid.valid.sum() == 3 and grid.metadata["metadata"]["medium_in_files"] == "vacuum"
    node = grid.flux[1, 1, 0, 1].astype(np.float64)  # 4000, 5.0, -0.5, 0.2
    flux, cont = spectrum(grid.wave, 4000)
    far = np.min(np.abs(grid.wave[:, None] - np.array([8500.36, 8544.44, 8664.52])), axis=1) > 5
    np.testing.assert_allclose(node[far], flux[far], rtol=1e-5)  # 10**(F - 8), W/m2/um -> cgs
    assert equivalent_width(grid.wave, node, cont) == pytest.approx(2.7072, rel=2e-3)


def test_air_wavelengths_are_found_and_converted(tmp_path):
    write_btsettl(tmp_path / "bt", medium="air")
    # resolution None: the files' own ~0.02 A step, fine enough to place the line to 0.05 A
    import_grid(
        "btsettl", tmp_path / "bt", tmp_path / "grid", resolution=None, options=OPTIONS, **RANGE
    )
    grid = open_grid(tmp_path / "grid")
    assert grid.metadata["metadata"]["medium_in_files"] == "air"
    assert abs(line_minimum(grid.wave, grid.flux[0, 0, 1, 0]) - 8544.44) < 0.05
    with pytest.raises(
        GridImportError, match="air wavelengths, but BT-Settl wavelengths are vacuum"
    ):
        import_grid("btsettl", tmp_path / "bt", tmp_path / "g2", resolution=50000,
                    options={**OPTIONS, "medium": "vacuum"}, **RANGE)  # fmt: skip


def test_parser_reads_fortran_numbers_run_together(tmp_path):
    path = tmp_path / "lte035-4.5-0.0a+0.0.BT-Settl.spec.7"
    path.write_text("  8.35000000D+03-0.12340000D+01 0.5D+00\n  8.35010000d+03 0.13D+02-0.7D+00\n")
    wave, log_flux = read_spec7(path)
    np.testing.assert_allclose(wave, [8350.0, 8350.1])
    np.testing.assert_allclose(log_flux, [-1.234, 13.0])


def test_bad_files_are_recorded_skips(tmp_path):
    root = tmp_path / "bt"
    write_btsettl(root, "ascii", nodes=NODES[:2])
    write_btsettl(root, "fits", nodes=NODES[2:])
    truncated = root / name(*NODES[1], "ascii")
    text = bz2.decompress(truncated.read_bytes()).decode()
    truncated.write_bytes(bz2.compress((text[: len(text) // 2] + "\n ****** NaN\n").encode()))
    fits_file = root / name(*NODES[2], "fits")
    w = btsettl_wave()
    write_fits(fits_file, w, spectrum(w, 4000)[0], units=False)
    (root / "lte040-5.0-0.5.BT-Settl.spec.7").write_text("no alpha in the name\n")
    import_grid("btsettl", root, tmp_path / "grid", resolution=50000, options=OPTIONS, **RANGE)
    grid = open_grid(tmp_path / "grid")
    assert grid.valid.sum() == 1
    skipped = " | ".join(grid.metadata["metadata"]["skipped"])
    assert "1 of" in skipped and "do not start with two numbers" in skipped
    assert "column Wavelength states no unit" in skipped
    assert "lte040-5.0-0.5.BT-Settl.spec.7: name does not follow the BT-Settl pattern" in skipped


def test_coarse_sampling_is_refused(tmp_path):
    write_btsettl(tmp_path / "bt", wave=np.arange(8350.0, 8750.0, 0.4))  # R ~ 10 600
    with pytest.raises(GridImportError, match=r"sampled for R = 10\d\d\d .*R >= 20000"):
        import_grid(
            "btsettl",
            tmp_path / "bt",
            tmp_path / "grid",
            resolution=50000,
            options=OPTIONS,
            **RANGE,
        )
    assert not (tmp_path / "grid").exists()
