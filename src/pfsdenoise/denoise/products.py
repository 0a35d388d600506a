"""Readers of the Subaru PFS datamodel products (Subaru-PFS/datamodel, ``datamodel.txt``).

| product | layout read here |
| --- | --- |
| pfsSingle, pfsObject | FLUX: 1-D image, wavelength from its linear WCS (``CTYPE1`` WAVE) or a WAVELENGTH HDU; MASK with ``MP_*`` keys; COVAR ``(3, n)`` whose row 0 is the variance; TARGET (objId in its header); OBSERVATIONS (fiberId, arm) |
| pfsCalibrated, pfsCoadd | TARGET table (targetId, objId); OBSERVATIONS (targetId → fiberId, arm); WAVELENGTH one array or one per object; FLUX, MASK, COVAR images ``(n_obj, n)`` / ``(n_obj, 3, n)`` or tables of ``value`` / ``row_N`` variable-length arrays; mask planes in each target's METADATA YAML |
| pfsArm, pfsMerged | FIBERID; WAVELENGTH ``(n_fiber, n)`` (pfsMerged: maybe one array); FLUX in electrons (pfsMerged: electrons/nm), MASK and COVAR ``(n_fiber, 3, n)``; mask planes in the primary header; CONFIG (arm) |

Wavelengths are vacuum nm unless a header says otherwise. The linear WCS of pfsSingle/pfsObject
is read as the datamodel's own reader does (``WavelengthArray.fromFitsHeader``: element i at
0-based WCS pixel i + 1, the writer putting ``CRPIX1`` = n/2 + 1.5 and ``CRVAL1`` at the centre),
which is one pixel off the plain FITS convention; astropy stores it in metres (``CUNIT1 = 'm'``).
The product is recognised from the file name, else from its HDUs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from pfsdenoise.denoise.hdus import plane_rows, read_rows
from pfsdenoise.denoise.inputs import InputSpectra, ReadOptions
from pfsdenoise.denoise.masks import mask_planes, rejected
from pfsdenoise.denoise.units import parse_unit
from pfsdenoise.errors import ForeignFile

PRODUCTS = ("pfsSingle", "pfsObject", "pfsCalibrated", "pfsCoadd", "pfsArm", "pfsMerged")
_NAME = re.compile(r"^(" + "|".join(PRODUCTS) + r")[-_.]")
_ARM = re.compile(
    r"^pfsArm-\d+-([brnm])\d"
)  # "pfsArm-%06d-%1s%1d.fits" % (visit, arm, spectrograph)
DEFAULT_FLUX_UNIT = {
    "pfsSingle": "nJy",
    "pfsObject": "nJy",
    "pfsCalibrated": "nJy",
    "pfsCoadd": "nJy",
    "pfsArm": "electron",
    "pfsMerged": "electron/nm",
}
"""FLUX units of each product when its header has no BUNIT (datamodel.txt)."""
VARIANCE_NOTE = "sigma = sqrt(COVAR row 0): COVAR row 0 is the variance (datamodel.txt)"


class ProductError(ForeignFile):
    """A file that claims to be a PFS product but lacks what its layout needs."""


def recognise(path: Path, hdul: fits.HDUList) -> str | None:
    """The product a FITS file is, from its name, else its HDUs; None for other FITS files."""
    match = _NAME.match(path.name)
    if match:
        return match.group(1)
    names = {h.name for h in hdul}
    if {"FIBERID", "FLUX", "WAVELENGTH"} <= names:
        arm = _config_arm(hdul)
        return "pfsArm" if arm is not None and len(arm) == 1 else "pfsMerged"
    if {"TARGET", "FLUX"} <= names and _has_column(hdul["TARGET"], "targetId"):
        return "pfsCalibrated"
    if (
        {"FLUX", "MASK"} <= names
        and np.ndim(hdul["FLUX"].data) == 1
        and ("COVAR" in names or "TARGET" in names)
    ):
        visits = _column(hdul, "OBSERVATIONS", "visit")
        return "pfsObject" if visits is not None and len(set(visits)) > 1 else "pfsSingle"
    return None


def read_product(path: Path, hdul: fits.HDUList, product: str, opts: ReadOptions) -> InputSpectra:
    """Read the spectra of ``product`` from an open file (see the module docstring)."""
    if product in ("pfsSingle", "pfsObject"):
        return _read_single(path, hdul, product, opts)
    if product in ("pfsCalibrated", "pfsCoadd"):
        return _read_target_spectra(path, hdul, product, opts)
    if product in ("pfsArm", "pfsMerged"):
        return _read_fiber_array_set(path, hdul, product, opts)
    raise ProductError(f"{path}: unknown product {product!r} (known: {', '.join(PRODUCTS)})")


def _has_column(hdu: Any, name: str) -> bool:
    return isinstance(hdu, fits.BinTableHDU) and name.lower() in (
        n.lower() for n in hdu.columns.names
    )


def _column(hdul: fits.HDUList, hdu_name: str, name: str) -> np.ndarray | None:
    """A table column by case-insensitive name, or None when the HDU or column is missing."""
    if hdu_name not in hdul or not _has_column(hdul[hdu_name], name):
        return None
    table = hdul[hdu_name]
    real = next(n for n in table.columns.names if n.lower() == name.lower())
    return table.data[real]


def _text(value: Any) -> str:
    """A string from a FITS string cell: fixed-width, or a variable-length (``PA()``) array of
    characters (read raw: astropy's chararray view drops the blanks and newlines of YAML)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    chars = np.asarray(value).view(np.ndarray)
    if chars.dtype.kind == "S":
        chars = np.char.decode(chars)
    return str(chars.item()) if chars.ndim == 0 else "".join(chars.tolist())


def _config_arm(hdul: fits.HDUList) -> str | None:
    """The arm(s) of a pfsArm/pfsMerged file from its CONFIG table (``x``: merged)."""
    arms = _column(hdul, "CONFIG", "arm")
    return _text(arms[0]).strip() if arms is not None and len(arms) else None


def _hdu(hdul: fits.HDUList, name: str, path: Path, product: str, why: str) -> Any:
    if name not in hdul:
        raise ProductError(
            f"{path}: a {product} file needs a {name} HDU ({why}); HDUs here: "
            f"{[h.name for h in hdul]}. Pass --product if this is another product"
        )
    return hdul[name]


def _units(opts: ReadOptions, header: fits.Header, product: str, path: Path) -> tuple[Any, Any]:
    """Wavelength unit (``--wave-unit`` > header > nm) and flux unit (``--flux-unit`` > BUNIT >
    the datamodel's unit of the product)."""
    wave = parse_unit(opts.wave_unit, "wave", str(path)) or parse_unit("nm", "wave")
    flux = parse_unit(
        opts.flux_unit or header.get("BUNIT") or DEFAULT_FLUX_UNIT[product], "flux", str(path)
    )
    return wave, flux


def wcs_wavelength(
    header: fits.Header, n: int, *, datamodel: bool, path: Path
) -> tuple[np.ndarray, Any, bool]:
    """Wavelengths of a linear 1-D WCS (``CRVAL1``, ``CDELT1`` or ``CD1_1``, ``CRPIX1``,
    ``CUNIT1``, ``CTYPE1`` WAVE = vacuum, AWAV = air), their unit and whether they are in air.

    ``datamodel``: the pixel convention of the datamodel's WavelengthArray (module docstring).
    """
    ctype = str(header.get("CTYPE1", "WAVE")).strip().upper()
    if ctype not in ("WAVE", "AWAV", "LINEAR", ""):
        raise ProductError(f"{path}: CTYPE1 = {ctype!r}: only a linear wavelength WCS is read")
    delta = header.get("CDELT1", header.get("CD1_1"))
    if "CRVAL1" not in header or delta is None:
        raise ProductError(f"{path}: the FLUX header has no linear WCS (CRVAL1 and CDELT1)")
    pixel = np.arange(n, dtype=np.float64) + 1.0 + (1.0 if datamodel else 0.0)
    wave = header["CRVAL1"] + (pixel - header.get("CRPIX1", 1.0)) * delta
    unit = parse_unit(header.get("CUNIT1"), "wave", str(path))
    return wave, unit, ctype == "AWAV"


def _sigma(covar: np.ndarray, notes: list[str]) -> np.ndarray:
    if VARIANCE_NOTE not in notes:
        notes.append(VARIANCE_NOTE)
    with np.errstate(invalid="ignore"):
        return np.sqrt(covar[0])


def _single_id(hdul: fits.HDUList) -> dict[str, Any]:
    header = hdul["TARGET"].header if "TARGET" in hdul else fits.Header()
    fiber = _column(hdul, "OBSERVATIONS", "fiberId")
    return {
        "objId": int(header["OBJID"]) if "OBJID" in header else None,
        "catId": int(header["CATID"]) if "CATID" in header else None,
        "fiberId": sorted({int(f) for f in fiber}) if fiber is not None else [],
    }


def _read_single(path: Path, hdul: fits.HDUList, product: str, opts: ReadOptions) -> InputSpectra:
    flux_hdu = _hdu(hdul, "FLUX", path, product, "the spectrum")
    flux = np.asarray(flux_hdu.data, dtype=np.float64)
    if flux.ndim != 1:
        raise ProductError(f"{path}: {product} FLUX must be 1-D, not {flux.shape}")
    wave_unit, flux_unit = _units(opts, flux_hdu.header, product, path)
    air = opts.air
    if "WAVELENGTH" in hdul:
        wave = np.asarray(hdul["WAVELENGTH"].data, dtype=np.float64)
        header_unit = hdul["WAVELENGTH"].header.get("BUNIT")
    else:
        wave, header_unit, in_air = wcs_wavelength(
            flux_hdu.header, flux.size, datamodel=True, path=path
        )
        air = air or in_air
    if opts.wave_unit is None and header_unit:
        wave_unit = parse_unit(header_unit, "wave", str(path))
    mask_hdu = _hdu(hdul, "MASK", path, product, "the pixel mask")
    planes = mask_planes(mask_hdu.header) or mask_planes(hdul[0].header)
    notes: list[str] = []
    sigma = _sigma(
        plane_rows(_hdu(hdul, "COVAR", path, product, "row 0 is the variance"))[0], notes
    )
    arms = _column(hdul, "OBSERVATIONS", "arm")
    arms = sorted({_text(a).strip() for a in arms}) if arms is not None else []
    if arms and not any("m" in a for a in arms):
        raise ProductError(
            f"{path}: OBSERVATIONS lists arms {', '.join(arms)}: no medium-resolution (m) arm; "
            "the model is for the medium-resolution red arm"
        )
    return InputSpectra(
        path=path,
        product=product,
        wave=[wave],
        flux=[flux],
        sigma=[sigma],
        mask=[rejected(mask_hdu.data, planes, opts.mask_planes)],
        wave_unit=wave_unit,
        flux_unit=flux_unit,
        air=air,
        ids=[_single_id(hdul)],
        notes=notes,
        extra={"flux_hdu": "FLUX"},
    )


def _target_planes(hdul: fits.HDUList, n: int) -> list[dict[str, int]]:
    """Mask planes of each target: its METADATA YAML, else the MASK or primary header."""
    import yaml

    fallback = mask_planes(hdul["MASK"].header) or mask_planes(hdul[0].header)
    texts = _column(hdul, "METADATA", "metadata")
    if texts is None:
        return [fallback] * n
    cache: dict[str, dict[str, int]] = {}
    out = []
    for value in texts:
        text = _text(value)
        if text not in cache:
            meta = yaml.safe_load(text) or {}
            cache[text] = mask_planes(meta) if isinstance(meta, dict) else {}
        out.append(cache[text] or fallback)
    return out


def _spectra_hdus(
    hdul: fits.HDUList, path: Path, product: str, n: int, what: str
) -> tuple[Any, list, list, list, list]:
    """FLUX (the HDU and its rows), WAVELENGTH, MASK and COVAR rows of ``n`` spectra; a single
    WAVELENGTH array is shared by all (pfsCoadd, pfsMerged: datamodel.txt)."""
    flux_hdu = _hdu(hdul, "FLUX", path, product, "the spectra")
    flux = read_rows(flux_hdu)
    waves = read_rows(_hdu(hdul, "WAVELENGTH", path, product, "one array, or one per spectrum"))
    if len(waves) == 1 and n > 1:
        waves = waves * n
    masks = read_rows(_hdu(hdul, "MASK", path, product, "the pixel masks"), np.int64)
    covar = plane_rows(_hdu(hdul, "COVAR", path, product, "row 0 is the variance"))
    for name, rows in (("FLUX", flux), ("WAVELENGTH", waves), ("MASK", masks), ("COVAR", covar)):
        if len(rows) != n:
            raise ProductError(f"{path}: {name} has {len(rows)} spectra for {n} {what}")
    return flux_hdu, flux, waves, masks, covar


def _spectra(
    path: Path,
    product: str,
    opts: ReadOptions,
    flux_hdu: Any,
    waves: list,
    flux: list,
    covar: list,
    masks: list,
    ids: list[dict[str, Any]],
) -> InputSpectra:
    """The spectra of a multi-spectrum product in file order (σ from COVAR row 0)."""
    wave_unit, flux_unit = _units(opts, flux_hdu.header, product, path)
    notes: list[str] = []
    sigma = [_sigma(c, notes) for c in covar]
    return InputSpectra(
        path=path,
        product=product,
        wave=waves,
        flux=flux,
        sigma=sigma,
        mask=masks,
        wave_unit=wave_unit,
        flux_unit=flux_unit,
        air=opts.air,
        ids=ids,
        notes=notes,
        extra={"flux_hdu": "FLUX"},
    )


def _read_target_spectra(
    path: Path, hdul: fits.HDUList, product: str, opts: ReadOptions
) -> InputSpectra:
    target = _hdu(hdul, "TARGET", path, product, "one row per object")
    if not _has_column(target, "targetId"):
        raise ProductError(f"{path}: the TARGET table of a {product} file needs a targetId column")
    target_ids = [int(t) for t in _column(hdul, "TARGET", "targetId")]
    obj = _column(hdul, "TARGET", "objId")
    n = len(target_ids)
    flux_hdu, flux, waves, masks, covar = _spectra_hdus(hdul, path, product, n, "TARGET objects")
    planes = _target_planes(hdul, n)
    obs_target = _column(hdul, "OBSERVATIONS", "targetId")
    obs_fiber = _column(hdul, "OBSERVATIONS", "fiberId")
    fibers: dict[int, set[int]] = {}
    if obs_target is not None and obs_fiber is not None:
        for t, f in zip(obs_target.tolist(), obs_fiber.tolist(), strict=True):
            fibers.setdefault(int(t), set()).add(int(f))
    ids = [
        {
            "targetId": tid,
            "objId": int(obj[i]) if obj is not None else None,
            "fiberId": sorted(fibers.get(tid, ())),
        }
        for i, tid in enumerate(target_ids)
    ]
    masks = [rejected(m, p, opts.mask_planes) for m, p in zip(masks, planes, strict=True)]
    return _spectra(path, product, opts, flux_hdu, waves, flux, covar, masks, ids)


def _read_fiber_array_set(
    path: Path, hdul: fits.HDUList, product: str, opts: ReadOptions
) -> InputSpectra:
    arm = _config_arm(hdul)
    named = _ARM.match(path.name)
    if named:
        arm = named.group(1)
    if arm is not None and arm != "x" and "m" not in arm:
        raise ProductError(
            f"{path}: a {product} file of arm(s) '{arm}': no medium-resolution (m) arm; the model "
            "is for the medium-resolution red arm (pfsArm-...-m<N>.fits)"
        )
    fiber = [
        int(f) for f in np.ravel(_hdu(hdul, "FIBERID", path, product, "fibre identifiers").data)
    ]
    n = len(fiber)
    flux_hdu, flux, waves, masks, covar = _spectra_hdus(hdul, path, product, n, "FIBERID fibres")
    planes = mask_planes(hdul[0].header) or mask_planes(hdul["MASK"].header)
    masks = [rejected(m, planes, opts.mask_planes) for m in masks]
    ids = [{"fiberId": [f]} for f in fiber]
    return _spectra(path, product, opts, flux_hdu, waves, flux, covar, masks, ids)
