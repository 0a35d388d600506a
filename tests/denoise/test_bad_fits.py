"""FITS files with broken headers are named and explained (issue 13, row 4): before, NAXIS1 =
2e9 gave "cannot reshape array of size 9360 into shape (2000000000,)" and BITPIX = 7
`KeyError: 7`, both without the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pfsdenoise.cli import main
from pfsdenoise.denoise.formats import read_input
from pfsdenoise.errors import EXIT_FOREIGN, ForeignFile, explain


def _image(path: Path, key: str, value: str) -> Path:
    """A 1-D FITS image with its error in HDU 1, one header card then overwritten."""
    hdu = fits.PrimaryHDU(np.ones(4096))
    hdu.header["CRVAL1"], hdu.header["CDELT1"] = 7100.0, 0.43
    fits.HDUList([hdu, fits.ImageHDU(np.full(4096, 0.1))]).writeto(path)
    data = bytearray(path.read_bytes())
    at = data.index(key.ljust(8).encode())
    data[at : at + 80] = f"{key:<8}= {value:>20}".ljust(80).encode()
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("key", "value"), [("NAXIS1", "2000000000"), ("BITPIX", "7")])
def test_broken_header_is_named(tmp_path, model_path, key, value, capsys):
    path = _image(tmp_path / "spectrum.fits", key, value)
    with pytest.raises(ForeignFile) as info:
        read_input(path)
    code, message = explain(info.value)
    assert code == EXIT_FOREIGN
    assert message.startswith(f"{path}: not a readable FITS file") and "check its header" in message
    argv = ["denoise", "--model", str(model_path), str(path), "-o", str(tmp_path / "out")]
    assert main(argv) == 1  # the batch records the file as failed, with the reason
    captured = capsys.readouterr()
    assert "not a readable FITS file" in captured.out + captured.err
    assert "Traceback" not in captured.err
