"""Read spectra to denoise from Parquet shards or FITS files; write them back with the result.

Formats (recognized by content, not by name):

* **Parquet shard** of this project: ``flux``, ``sigma``, ``mask`` columns and the ``wave``
  metadata; output adds ``flux_denoised``.
* **FITS binary table** (first table HDU) with wavelength, flux and error columns (names
  configurable): either one row per pixel or one row per spectrum with array columns; output
  adds a ``FLUX_DENOISED`` column.
* **FITS 1-D image** + linear WCS (``CRVAL1``/``CDELT1``/``CRPIX1``, ``CUNIT1`` Å or nm) in the
  primary HDU and the error spectrum in the second HDU; output adds a ``DENOISED`` image HDU.

Provenance (model path, card summary, time) goes into the Parquet metadata or the FITS header.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.constants import DENOISED_COLUMN


class InputFormatError(ValueError):
    """A file that is neither a usable FITS file nor a Parquet shard, or lacks a column."""


@dataclass
class Columns:
    """Names of the FITS table columns to read (case-insensitive)."""

    wave: str = "WAVELENGTH"
    flux: str = "FLUX"
    error: str = "ERROR"


@dataclass
class SpectraFile:
    """Spectra read from one file: shared 1-D ``wave`` [Å] and ``(n, n_pix)`` arrays."""

    path: Path
    kind: str
    wave: np.ndarray
    flux: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """``parquet`` or ``fits`` from the file's first bytes; a clear error otherwise."""
    if not path.exists():
        raise InputFormatError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head == b"SIMPLE  =":
        return "fits"
    raise InputFormatError(f"{path}: neither a FITS file nor a Parquet shard (starts {head!r})")


def _angstrom(unit: Any) -> float:
    return 10.0 if str(unit or "").strip().lower() in ("nm", "nanometer") else 1.0


def read_spectra(path: str | os.PathLike, columns: Columns | None = None) -> SpectraFile:
    """Read the spectra of a Parquet shard or FITS file (see the module docstring)."""
    path = Path(path)
    kind = detect_format(path)
    if kind == "parquet":
        from pfsdenoise.shards import read_shard

        batch = read_shard(path)
        for col in ("flux", "sigma"):
            if col not in batch.spectra:
                raise InputFormatError(f"{path}: column {col!r} missing from the shard")
        mask = batch.spectra.get("mask", np.zeros(batch.spectra["flux"].shape, bool))
        return SpectraFile(
            path,
            kind,
            batch.wave,
            batch.spectra["flux"],
            batch.spectra["sigma"],
            mask,
            {"batch": batch},
        )
    return _read_fits(path, columns or Columns())


def _read_fits(path: Path, cols: Columns) -> SpectraFile:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        table = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
        if table is not None:
            names = {n.lower(): n for n in table.columns.names}
            got = {}
            for role in ("wave", "flux", "error"):
                want = getattr(cols, role)
                if want.lower() not in names:
                    raise InputFormatError(
                        f"{path}: HDU {table.name or 1} has no {role} column {want!r} (columns: "
                        f"{table.columns.names}); pass --{role}-column"
                    )
                name = names[want.lower()]
                got[role] = np.asarray(table.data[name], dtype=np.float64)
                if role == "wave":
                    got[role] = got[role] * _angstrom(table.columns[name].unit)
            wave = got["wave"] if got["wave"].ndim == 1 else got["wave"][0]
            if got["wave"].ndim == 2 and not np.allclose(got["wave"], wave):
                raise InputFormatError(f"{path}: rows have different wavelength grids")
            flux, err = np.atleast_2d(got["flux"]), np.atleast_2d(got["error"])
            kind = "fits-table-rows" if got["flux"].ndim == 2 else "fits-table"
            return SpectraFile(path, kind, wave, flux, err, ~np.isfinite(flux))
        if hdul[0].data is None or hdul[0].data.ndim != 1 or len(hdul) < 2:
            raise InputFormatError(
                f"{path}: FITS file has neither a binary table nor a 1-D primary image with the "
                "error spectrum in HDU 1"
            )
        hdr = hdul[0].header
        for key in ("CRVAL1", "CDELT1"):
            if key not in hdr:
                raise InputFormatError(f"{path}: primary header lacks {key} (linear WCS needed)")
        flux = np.asarray(hdul[0].data, dtype=np.float64)
        err = np.asarray(hdul[1].data, dtype=np.float64)
        if err.shape != flux.shape:
            raise InputFormatError(f"{path}: error HDU 1 has shape {err.shape}, flux {flux.shape}")
        pix = np.arange(flux.size) + 1.0
        wave = (hdr["CRVAL1"] + (pix - hdr.get("CRPIX1", 1.0)) * hdr["CDELT1"]) * _angstrom(
            hdr.get("CUNIT1")
        )
        return SpectraFile(
            path, "fits-image", wave, flux[None], err[None], ~np.isfinite(flux[None])
        )


def output_paths(inputs: list[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<input name>`` for each input; refuses overwriting an input or a name clash."""
    outs = [out_dir / p.name for p in inputs]
    names = [p.name for p in inputs]
    for path, out in zip(inputs, outs, strict=True):
        if out.resolve() == path.resolve():
            raise InputFormatError(
                f"{path}: output would overwrite the input; use another --output"
            )
        if names.count(path.name) > 1:
            raise InputFormatError(
                f"{path}: several inputs are named {path.name!r}; their outputs in {out_dir} "
                "would overwrite each other (denoise them in separate runs)"
            )
    return outs


def provenance_summary(model: Any) -> dict[str, Any]:
    """What the output records about the model that produced it."""
    import datetime as dt

    card = model.card
    return {
        "step": "denoise",
        "model": str(model.path),
        "arch": card.get("arch"),
        "n_parameters": card.get("n_parameters"),
        "metrics": card.get("metrics"),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_denoised(
    src: SpectraFile, denoised: np.ndarray, out: str | os.PathLike, prov: dict[str, Any]
) -> Path:
    """Write ``src`` with ``denoised`` added, in the input's format, atomically, to ``out``."""
    out = Path(out)
    if src.kind == "parquet":
        from pfsdenoise.shards import write_shard

        batch = src.extra["batch"]
        meta = {k: v for k, v in batch.metadata.items() if k not in ("wave", "units", "provenance")}
        meta.pop("schema_version", None)
        record = dict(prov, inputs=[str(src.path)], parent=batch.metadata.get("provenance"))
        spectra = dict(batch.spectra, **{DENOISED_COLUMN: denoised.astype(np.float32)})
        return write_shard(
            out,
            batch.params,
            spectra,
            batch.wave,
            provenance=record,
            units=batch.metadata.get("units"),
            extra_metadata=meta,
        )
    return _write_fits(src, denoised, out, prov)


def _write_fits(src: SpectraFile, denoised: np.ndarray, out: Path, prov: dict[str, Any]) -> Path:
    from astropy.io import fits

    with fits.open(src.path, memmap=False) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    if src.kind == "fits-image":
        hdu = fits.ImageHDU(denoised[0].astype(np.float32), name="DENOISED")
        for key in ("CRVAL1", "CDELT1", "CRPIX1", "CUNIT1", "CTYPE1"):
            if key in hdul[0].header:
                hdu.header[key] = hdul[0].header[key]
        hdul.append(hdu)
    else:
        idx = next(i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU))
        table = hdul[idx]
        if src.kind == "fits-table-rows":
            col = fits.Column(
                name=DENOISED_COLUMN.upper(), format=f"{denoised.shape[1]}E", array=denoised
            )
        else:
            col = fits.Column(name=DENOISED_COLUMN.upper(), format="E", array=denoised[0])
        hdul[idx] = fits.BinTableHDU.from_columns(table.columns + fits.ColDefs([col]), table.header)
    hdr = hdul[0].header
    hdr["PFSDSTEP"] = ("denoise", "pfsdenoise step that wrote this file")
    hdr["PFSDARCH"] = (str(prov.get("arch")), "denoiser architecture")
    hdr["PFSDTIME"] = (prov["created"], "UTC time of denoising")
    hdr["PFSDMODL"] = (Path(prov["model"]).name, "model file (full path in HISTORY)")
    text = json.dumps(prov, default=str, separators=(",", ":"))
    for start in range(0, len(text), 64):  # "|" keeps trailing blanks (FITS strips them)
        hdr.add_history("PFSD " + text[start : start + 64] + "|")
    with atomic_path(out) as tmp:
        hdul.writeto(tmp)
    return out


def read_fits_provenance(path: str | os.PathLike) -> dict[str, Any]:
    """The provenance record written into a FITS header by :func:`write_denoised`."""
    from astropy.io import fits

    hist = fits.getheader(path, 0).get("HISTORY", [])
    return json.loads("".join(str(h)[5:-1] for h in hist if str(h).startswith("PFSD ")))
