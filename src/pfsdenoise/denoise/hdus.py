"""Per-spectrum arrays of a FITS HDU in either datamodel layout, and new HDUs in the same layout.

The datamodel stores a per-spectrum quantity as an image (one row per spectrum; a 1-D image for
a single spectrum, or a 1-D WAVELENGTH shared by all) or, when the spectra have different
lengths, as a binary table of variable-length arrays: one column ``value`` for one array per
spectrum, columns ``row_0``, ``row_1``, ... for several (COVAR) (datamodel.txt, pfsCoadd).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.io import fits

STRUCTURAL = (
    "SIMPLE",
    "XTENSION",
    "BITPIX",
    "NAXIS",
    "PCOUNT",
    "GCOUNT",
    "EXTEND",
    "EXTNAME",
    "BSCALE",
    "BZERO",
    "TFIELDS",
    "CHECKSUM",
    "DATASUM",
    "ZIMAGE",
    "ZBITPIX",
    "ZCMPTYPE",
)
"""Header keys that describe an HDU's storage, not its content: never copied to a new HDU."""


def is_table(hdu: Any) -> bool:
    return isinstance(hdu, fits.BinTableHDU)


def read_rows(hdu: Any, dtype: type = np.float64) -> list[np.ndarray]:
    """One array per spectrum: image rows (a 1-D image is one row) or a table's ``value`` column.

    A quantity with several arrays per spectrum (COVAR: image ``(n, k, n_pix)`` or ``(k, n_pix)``
    for one spectrum, table ``row_0 ... row_{k-1}``) gives ``(k, n_pix)`` arrays.
    """
    if is_table(hdu):
        names = hdu.columns.names
        if "value" in names:
            return [np.asarray(v, dtype=dtype) for v in hdu.data["value"]]
        planes = sorted((n for n in names if n.startswith("row_")), key=lambda n: int(n[4:]))
        if not planes:
            raise ValueError(f"HDU {hdu.name}: a table without 'value' or 'row_N' columns")
        return [
            np.array([hdu.data[p][i] for p in planes], dtype=dtype) for i in range(len(hdu.data))
        ]
    data = np.asarray(hdu.data, dtype=dtype)
    return [data] if data.ndim == 1 else list(data)


def plane_rows(hdu: Any, dtype: type = np.float64) -> list[np.ndarray]:
    """:func:`read_rows` of a quantity with several planes per spectrum (COVAR)."""
    if not is_table(hdu) and np.ndim(hdu.data) == 2:  # (k, n_pix): one spectrum
        return [np.asarray(hdu.data, dtype=dtype)]
    return read_rows(hdu, dtype)


def copy_header(template: Any) -> fits.Header:
    """The content cards of ``template``'s header (WCS, units, datamodel version)."""
    header = fits.Header()
    source = template.header if not is_table(template) else fits.Header()
    for card in source.cards:
        key = card.keyword
        if key in STRUCTURAL or key.startswith(("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "Z")):
            continue
        header.append(card)
    return header


def like(
    template: Any, rows: list[np.ndarray], name: str, dtype: type
) -> fits.ImageHDU | fits.BinTableHDU:
    """A new HDU ``name`` holding ``rows`` in ``template``'s layout (image of the same shape, or
    a ``value`` table), with its content header cards (WCS, BUNIT)."""
    header = copy_header(template)
    if is_table(template):
        code = {np.float32: "E", np.float64: "D", np.int32: "J", np.int16: "I"}[dtype]
        column = fits.Column(
            "value", f"P{code}()", array=[np.asarray(r, dtype=dtype) for r in rows]
        )
        return fits.BinTableHDU.from_columns([column], header=header, name=name)
    data = np.asarray(rows, dtype=dtype).reshape(np.shape(template.data))
    return fits.ImageHDU(data, header=header, name=name)
