"""Write a denoised file: the input, unchanged, with the results added.

* PFS products (and 1-D FITS images) get image or table HDUs in FLUX's layout: ``DENOISED``
  (flux, FLUX's unit and WCS), ``DENOISED_MASK`` (int32 bits, :mod:`.masks`), ``DENOISED_ERR``
  (1σ of the denoised flux, where the model gives one) and ``DENOISED_INFO`` (one row per
  spectrum: identity, S/N, status, warnings). Datamodel readers ignore HDUs they do not know, so
  the result is still a valid product, and it reads back through :mod:`.products`.
* FITS tables get ``FLUX_DENOISED``, ``DENOISED_MASK`` (and ``SIGMA_DENOISED``) columns;
  Parquet shards the ``flux_denoised`` (and ``sigma_denoised``) columns.
* Provenance: primary-header cards ``PFSD*`` (step, model file, architecture, card checksum,
  code version, input checksum, time) and the full record as ``HISTORY PFSD`` cards
  (:func:`pfsdenoise.provenance.read_record`, ``pfsdenoise provenance``).

Outputs are written atomically and never onto an input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.constants import DENOISED_COLUMN, DENOISED_ERR_COLUMN
from pfsdenoise.denoise.inputs import InputSpectra, describe
from pfsdenoise.denoise.masks import NOT_DENOISED
from pfsdenoise.provenance import fits_history

ADDED_HDUS = ("DENOISED", "DENOISED_MASK", "DENOISED_ERR", "DENOISED_INFO")
"""HDUs this module adds (replaced when a denoised file is denoised again)."""
MASK_COLUMN = "DENOISED_MASK"


@dataclass
class Outcome:
    """One spectrum's line in the summary and in DENOISED_INFO."""

    row: int
    ids: dict[str, Any]
    snr: float
    norm: float
    status: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class Result:
    """The denoised spectra of one file, aligned with its :class:`InputSpectra` (input grid and
    units; NaN where there is no denoised value)."""

    flux: list[np.ndarray]
    bits: list[np.ndarray]
    sigma: list[np.ndarray] | None
    outcomes: list[Outcome]


def output_paths(inputs: list[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<input name>`` for each input; refuses overwriting an input or a name clash."""
    outs = [out_dir / p.name for p in inputs]
    names = [p.name for p in inputs]
    for path, out in zip(inputs, outs, strict=True):
        if out.resolve() == path.resolve():
            raise ValueError(f"{path}: output would overwrite the input; use another --output")
        if names.count(path.name) > 1:
            raise ValueError(
                f"{path}: several inputs are named {path.name!r}; their outputs in {out_dir} "
                "would overwrite each other (denoise them in separate runs)"
            )
    return outs


def write_output(
    src: InputSpectra, result: Result, out: str | Path, record: dict[str, Any]
) -> Path:
    """Write ``src`` with ``result`` added, in the input's format, atomically, to ``out``."""
    out = Path(out)
    if out.resolve() == src.path.resolve():
        raise ValueError(f"{src.path}: output would overwrite the input")
    if src.extra.get("kind") == "parquet":
        return _write_parquet(src, result, out, record)
    return _write_fits(src, result, out, record)


def _full_rows(
    src: InputSpectra, lengths: list[int], values: list[np.ndarray], fill: Any, dtype: type
) -> list[np.ndarray]:
    """Arrays for every row of the file: ``values`` at ``src.rows``, ``fill`` elsewhere."""
    rows = [np.full(n, fill, dtype=dtype) for n in lengths]
    for row, value in zip(src.rows, values, strict=True):
        rows[row] = np.asarray(value, dtype=dtype)
    return rows


def _write_parquet(src: InputSpectra, result: Result, out: Path, record: dict[str, Any]) -> Path:
    from pfsdenoise.shards import write_shard

    batch = src.extra["batch"]
    meta = {k: v for k, v in batch.metadata.items() if k not in ("wave", "units", "provenance")}
    meta.pop("schema_version", None)
    spectra = dict(batch.spectra)
    spectra[DENOISED_COLUMN] = np.stack(result.flux).astype(np.float32)
    if result.sigma is not None:
        spectra[DENOISED_ERR_COLUMN] = np.stack(result.sigma).astype(np.float32)
    record = dict(record, parent=batch.metadata.get("provenance"))
    return write_shard(
        out,
        batch.params,
        spectra,
        batch.wave,
        provenance=record,
        units=batch.metadata.get("units"),
        extra_metadata=meta,
    )


def info_table(src: InputSpectra, result: Result) -> Any:
    """DENOISED_INFO: one row per spectrum of the file (rows not selected say so)."""
    from astropy.io import fits

    by_row = {o.row: o for o in result.outcomes}
    rows = [
        by_row.get(r, Outcome(r, {}, np.nan, np.nan, "not selected")) for r in range(src.n_rows)
    ]

    def ident(o: Outcome, key: str) -> int:
        value = o.ids.get(key)
        return -1 if value is None else int(value)

    def ascii(texts: list[str]) -> np.ndarray:  # FITS strings are ASCII
        raw = [t.encode("ascii", "replace") for t in texts]
        return np.array(raw, dtype=f"S{max(1, *map(len, raw))}")

    columns = {
        "row": np.array([o.row for o in rows], ">i4"),
        "targetId": np.array([ident(o, "targetId") for o in rows], ">i4"),
        "objId": np.array([ident(o, "objId") for o in rows], ">i8"),
        "snr": np.array([o.snr for o in rows], ">f4"),
        "norm": np.array([o.norm for o in rows], ">f8"),
        "object": ascii([describe(o.ids) for o in rows]),
        "status": ascii([o.status for o in rows]),
        "warnings": ascii(["; ".join(o.warnings) for o in rows]),
    }
    table = np.empty(len(rows), dtype=[(k, v.dtype) for k, v in columns.items()])
    for name, values in columns.items():
        table[name] = values
    return fits.BinTableHDU(table, name="DENOISED_INFO")  # faster than Column objects


def _card_values(record: dict[str, Any]) -> list[tuple[str, Any, str]]:
    inputs = record.get("inputs") or [{}]
    return [
        ("PFSDSTEP", str(record.get("step")), "pfsdenoise step that wrote this file"),
        ("PFSDMODL", Path(str(record.get("model"))).name, "model file (full path in HISTORY)"),
        ("PFSDARCH", str(record.get("arch")), "denoiser architecture"),
        ("PFSDCARD", str(record.get("card_checksum", "")).removeprefix("sha256:"), ""),
        ("PFSDVERS", str(record.get("version")), "pfsdenoise version"),
        ("PFSDINCK", str(inputs[0].get("checksum", "")).removeprefix("sha256:"), ""),
        ("PFSDTIME", str(record.get("created")), "UTC time of denoising"),
    ]


def _result_hdus(template: Any, src: InputSpectra, result: Result) -> list[Any]:
    """DENOISED, DENOISED_MASK (and DENOISED_ERR) in ``template``'s (FLUX's) layout."""
    from pfsdenoise.denoise.hdus import like, read_rows

    lengths = [r.size for r in read_rows(template)]
    planes = [
        ("DENOISED", result.flux, np.nan, np.float32),
        ("DENOISED_MASK", result.bits, NOT_DENOISED, np.int32),
    ]
    if result.sigma is not None:
        planes.append(("DENOISED_ERR", result.sigma, np.nan, np.float32))
    hdus = []
    for name, values, fill, dtype in planes:
        hdu = like(template, _full_rows(src, lengths, values, fill, dtype), name, dtype)
        if name == "DENOISED_MASK":
            hdu.header.remove("BUNIT", ignore_missing=True)
            hdu.header["COMMENT"] = (
                "bits: 1 masked/inpainted, 2 outside the arm, 4 domain warning, 8 not denoised"
            )
        else:
            if src.flux_unit is not None:
                hdu.header["BUNIT"] = src.flux_unit.to_string()
            if name == "DENOISED_ERR":
                hdu.header["COMMENT"] = "1-sigma uncertainty of DENOISED (not a variance)"
        hdus.append(hdu)
    return hdus


def _stamp(header: Any, record: dict[str, Any]) -> None:
    """The PFSD* provenance cards and the record's HISTORY cards."""
    for key, value, comment in _card_values(record):
        header[key] = (value, comment)
    for text in fits_history(record):
        header.add_history(text)


def _write_fits(src: InputSpectra, result: Result, out: Path, record: dict[str, Any]) -> Path:
    from astropy.io import fits

    with fits.open(src.path, memmap=False) as hdul:
        checksum = any("CHECKSUM" in h.header for h in hdul)
        if src.extra.get("kind") in ("fits-table", "fits-table-rows"):
            new = [info_table(src, result)]
        else:
            new = [
                *_result_hdus(hdul[src.extra.get("flux_hdu", 0)], src, result),
                info_table(src, result),
            ]
        header = hdul[0].header.copy()
        _stamp(header, record)
        raw = (
            hdul[0].data is None
            and src.extra.get("kind") not in ("fits-table", "fits-table-rows")
            and not {h.name for h in hdul} & set(ADDED_HDUS)
            and not _is_gzip(src.path)
        )
        if raw:
            return _append_raw(src.path, hdul, header, new, out, checksum)
        for name in ADDED_HDUS:  # a denoised file denoised again: its results are replaced
            while name in hdul:
                del hdul[name]
        if src.extra.get("kind") in ("fits-table", "fits-table-rows"):
            _add_columns(hdul, src, result)
        hdul[0].header = header
        hdul.extend(new)
        with atomic_path(out) as tmp:
            # the input's HDUs were verified on reading, ours are built valid
            hdul.writeto(tmp, checksum=checksum, output_verify="ignore")
    return out


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _append_raw(
    path: Path, hdul: Any, header: Any, new: list[Any], out: Path, checksum: bool
) -> Path:
    """The input's bytes after its (data-less) primary HDU, unchanged, between a new primary
    header and the new HDUs: nothing of the product is re-encoded (compressed MASK images, table
    formats and header cards stay as written)."""
    import io

    from astropy.io import fits

    first = hdul.fileinfo(0)
    last = hdul.fileinfo(len(hdul) - 1)
    start, end = first["datLoc"] + first["datSpan"], last["datLoc"] + last["datSpan"]
    primary = fits.PrimaryHDU(header=header)
    head, tail = io.BytesIO(), io.BytesIO()
    fits.HDUList([primary]).writeto(head, checksum=checksum, output_verify="ignore")
    blank = fits.PrimaryHDU()
    fits.HDUList([blank, *new]).writeto(tail, checksum=checksum)
    skip = len(blank.header.tostring())  # the blank primary: one 2880-byte block
    with atomic_path(out) as tmp, open(tmp, "wb") as dst, open(path, "rb") as src:
        dst.write(head.getvalue())
        src.seek(start)
        remaining = end - start
        while remaining > 0:
            block = src.read(min(remaining, 1 << 22))
            if not block:
                raise ValueError(f"{path}: file ends before its last HDU")
            dst.write(block)
            remaining -= len(block)
        dst.write(tail.getvalue()[skip:])
    return out


def _add_columns(hdul: Any, src: InputSpectra, result: Result) -> None:
    """FLUX_DENOISED, DENOISED_MASK (and SIGMA_DENOISED) columns in the spectra's table."""
    from astropy.io import fits

    index = src.extra["hdu"]
    table = hdul[index]
    values = [
        (DENOISED_COLUMN.upper(), result.flux, "E", np.float32),
        (MASK_COLUMN, result.bits, "J", np.int32),
    ]
    if result.sigma is not None:
        values.append((DENOISED_ERR_COLUMN.upper(), result.sigma, "E", np.float32))
    for name in [v[0] for v in values]:
        if name in table.columns.names:
            table.columns.del_col(name)
    cols = []
    for name, rows, code, dtype in values:
        if src.product == "fits-table":  # one spectrum, one row per pixel
            cols.append(fits.Column(name, code, array=np.asarray(rows[0], dtype=dtype)))
        elif len({r.size for r in rows}) == 1:
            cols.append(
                fits.Column(name, f"{rows[0].size}{code}", array=np.stack(rows).astype(dtype))
            )
        else:
            cols.append(fits.Column(name, f"P{code}()", array=[r.astype(dtype) for r in rows]))
    hdul[index] = fits.BinTableHDU.from_columns(table.columns + fits.ColDefs(cols), table.header)
