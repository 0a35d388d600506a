"""Recognise an input file and read its spectra: PFS datamodel products (:mod:`.products`),
this project's Parquet shards, and other FITS files.

Formats (recognised by content, the product also by file name; ``product`` overrides):

* **PFS products**: pfsSingle, pfsObject, pfsCalibrated, pfsCoadd, pfsArm, pfsMerged.
* **Parquet shard** of this project: ``flux``, ``sigma``, ``mask`` columns and ``wave`` metadata.
* **FITS binary table** (first table HDU): wavelength, flux and error columns, one row per pixel
  or one row per spectrum with array columns (each row may have its own wavelengths). Units from
  ``TUNITn`` (wavelength default Å). An error column named like a variance (``VAR``,
  ``VARIANCE``) is square-rooted, one named like an inverse variance (``IVAR``, ``INVVAR``)
  gives σ = 1/√ivar. A mask column (``--mask-column``, or one named MASK) is boolean (True =
  bad) or integer (bit planes by ``MP_*`` keys, else any non-zero value).
* **FITS 1-D image** with a linear WCS in the primary HDU and σ in HDU 1 (its EXTNAME says
  whether it holds a variance or an inverse variance).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.denoise.inputs import InputSpectra, ReadOptions
from pfsdenoise.denoise.masks import mask_planes, rejected
from pfsdenoise.denoise.units import parse_unit
from pfsdenoise.errors import ForeignFile, foreign_reader_errors

ERROR_NAMES = ("ERROR", "ERR", "SIGMA", "FLUX_ERR", "FLUXERR", "IVAR", "INVVAR", "VARIANCE", "VAR")
"""Error columns tried in this order when ``--error-column`` is not given."""
_IVAR = re.compile(r"(^|_)(IVAR|INVVAR|INV_VAR|INVERSE_VARIANCE)($|_)")
_VAR = re.compile(r"(^|_)(VAR|VARIANCE)($|_)")


class InputFormatError(ForeignFile):
    """A file that is neither a usable FITS file nor a Parquet shard, or lacks a column."""


def detect_format(path: Path) -> str:
    """``parquet`` or ``fits`` from the file's first bytes; a clear error otherwise."""
    if not path.exists():
        raise InputFormatError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head == b"SIMPLE  =" or head.startswith(b"\x1f\x8b"):  # FITS, or gzip-compressed FITS
        return "fits"
    raise InputFormatError(f"{path}: neither a FITS file nor a Parquet shard (starts {head!r})")


def error_kind(name: str) -> str:
    """``sigma``, ``variance`` or ``ivar`` from an error column's or HDU's name."""
    upper = name.upper()
    if _IVAR.search(upper):
        return "ivar"
    if _VAR.search(upper):
        return "variance"
    return "sigma"


def to_sigma(values: np.ndarray, name: str) -> np.ndarray:
    """1σ from an error array named ``name`` (variances and inverse variances converted)."""
    kind = error_kind(name)
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "variance":
            return np.sqrt(values)
        if kind == "ivar":
            return 1.0 / np.sqrt(values)
    return values


def sigma_note(name: str) -> list[str]:
    """What :func:`to_sigma` did to ``name``, for the log."""
    kind = error_kind(name)
    if kind == "variance":
        return [f"sigma = sqrt({name}): {name} is named like a variance"]
    if kind == "ivar":
        return [f"sigma = 1/sqrt({name}): {name} is named like an inverse variance"]
    return []


def read_input(path: str | os.PathLike, opts: ReadOptions | None = None) -> InputSpectra:
    """Read the spectra of one file (see the module docstring)."""
    from astropy.io import fits

    from pfsdenoise.denoise.products import PRODUCTS, read_product, recognise

    path, opts = Path(path), opts or ReadOptions()
    kind = detect_format(path)
    if kind == "parquet" or opts.product == "parquet":
        return _read_parquet(path)
    with (
        foreign_reader_errors(path, "FITS file", "astropy"),  # a bad header: named, explained
        fits.open(path, memmap=False) as hdul,
    ):
        product = recognise(path, hdul) if opts.product == "auto" else opts.product
        if product in PRODUCTS:
            return read_product(path, hdul, product, opts)
        if product not in (None, "table", "image"):
            raise InputFormatError(
                f"{path}: unknown --product {product!r} (auto, {', '.join(PRODUCTS)}, table, "
                "image, parquet)"
            )
        table = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
        if table is not None and product != "image":
            return _read_table(path, hdul.index_of(table), table, opts)
        return _read_image(path, hdul, opts)


def _read_parquet(path: Path) -> InputSpectra:
    from pfsdenoise.shards import read_shard

    batch = read_shard(path)
    for col in ("flux", "sigma"):
        if col not in batch.spectra:
            raise InputFormatError(f"{path}: column {col!r} missing from the shard")
    flux = batch.spectra["flux"]
    mask = batch.spectra.get("mask", np.zeros(flux.shape, bool))
    n = len(flux)
    ids = [{"spectrum_id": s} for s in batch.params.get("spectrum_id", [None] * n)]
    return InputSpectra(
        path=path,
        product="parquet",
        wave=[batch.wave] * n,
        flux=list(flux.astype(np.float64)),
        sigma=list(batch.spectra["sigma"].astype(np.float64)),
        mask=list(mask),
        wave_unit=parse_unit("Angstrom", "wave"),
        flux_unit=None,
        air=False,
        ids=ids,
        notes=[],
        extra={"kind": "parquet", "batch": batch},
    )


def _find(
    table: Any, want: str | None, role: str, path: Path, candidates: tuple[str, ...] = ()
) -> str | None:
    """The real name of column ``want`` (case-insensitive), or the first of ``candidates``."""
    names = {n.lower(): n for n in table.columns.names}
    if want is not None:
        if want.lower() not in names:
            raise InputFormatError(
                f"{path}: HDU {table.name or 1} has no {role} column {want!r} (columns: "
                f"{table.columns.names}); pass --{role}-column"
            )
        return names[want.lower()]
    return next((names[c.lower()] for c in candidates if c.lower() in names), None)


def _cells(table: Any, name: str, dtype: type) -> list[np.ndarray]:
    """One array per spectrum: the rows of an array column, or the whole column."""
    data = table.data[name]
    if data.dtype == object or np.ndim(data) == 2:  # variable-length or fixed array columns
        return [np.asarray(v, dtype=dtype) for v in data]
    return [np.asarray(data, dtype=dtype)]


def _read_table(path: Path, index: int, table: Any, opts: ReadOptions) -> InputSpectra:
    notes: list[str] = []
    wave_name = _find(table, opts.wave_column, "wave", path)
    flux_name = _find(table, opts.flux_column, "flux", path)
    err_name = _find(table, opts.error_column, "error", path, ERROR_NAMES)
    if err_name is None:
        raise InputFormatError(
            f"{path}: HDU {table.name or 1} has no error column (tried {', '.join(ERROR_NAMES)}; "
            f"columns: {table.columns.names}); pass --error-column"
        )
    if opts.error_column is None:
        notes.append(f"error column {err_name!r}")
    notes += sigma_note(err_name)
    mask_name = _find(table, opts.mask_column, "mask", path, ("MASK",))
    waves = _cells(table, wave_name, np.float64)
    flux = _cells(table, flux_name, np.float64)
    sigma = [to_sigma(s, err_name) for s in _cells(table, err_name, np.float64)]
    if len(waves) == 1 and len(flux) > 1:
        waves = waves * len(flux)
    if mask_name is None:
        masks = [~np.isfinite(f) for f in flux]
    elif table.columns[mask_name].format.endswith(("L", "L()")):
        masks = _cells(table, mask_name, bool)
    else:
        planes = mask_planes(table.header)
        masks = [rejected(m, planes, opts.mask_planes) for m in _cells(table, mask_name, np.int64)]
    col = {c.name: c for c in table.columns}
    wave_unit = parse_unit(opts.wave_unit or col[wave_name].unit or "Angstrom", "wave", str(path))
    flux_unit = parse_unit(opts.flux_unit or col[flux_name].unit, "flux", str(path))
    n = len(flux)
    kind = (
        "fits-table-rows"
        if np.ndim(table.data[flux_name]) == 2 or table.data[flux_name].dtype == object
        else "fits-table"
    )
    return InputSpectra(
        path=path,
        product=kind,
        wave=waves,
        flux=flux,
        sigma=sigma,
        mask=masks,
        wave_unit=wave_unit,
        flux_unit=flux_unit,
        air=opts.air,
        ids=[{} for _ in range(n)],
        notes=notes,
        extra={"kind": kind, "hdu": index},
    )


def _read_image(path: Path, hdul: Any, opts: ReadOptions) -> InputSpectra:
    from pfsdenoise.denoise.products import wcs_wavelength

    if hdul[0].data is None or hdul[0].data.ndim != 1 or len(hdul) < 2:
        raise InputFormatError(
            f"{path}: FITS file is no PFS product and has neither a binary table nor a 1-D "
            "primary image with the error spectrum in HDU 1 (pass --product if it is a product)"
        )
    hdr = hdul[0].header
    flux = np.asarray(hdul[0].data, dtype=np.float64)
    notes = sigma_note(hdul[1].name or "ERROR")
    sigma = to_sigma(hdul[1].data, hdul[1].name or "ERROR")
    if sigma.shape != flux.shape:
        raise InputFormatError(f"{path}: error HDU 1 has shape {sigma.shape}, flux {flux.shape}")
    wave, unit, air = wcs_wavelength(hdr, flux.size, datamodel=False, path=path)
    wave_unit = (
        parse_unit(opts.wave_unit, "wave", str(path)) or unit or parse_unit("Angstrom", "wave")
    )
    flux_unit = parse_unit(opts.flux_unit or hdr.get("BUNIT"), "flux", str(path))
    return InputSpectra(
        path=path,
        product="fits-image",
        wave=[wave],
        flux=[flux],
        sigma=[sigma],
        mask=[~np.isfinite(flux)],
        wave_unit=wave_unit,
        flux_unit=flux_unit,
        air=opts.air or air,
        ids=[{}],
        notes=notes,
        extra={"kind": "fits-image"},
    )
