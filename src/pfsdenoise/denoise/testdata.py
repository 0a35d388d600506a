"""Stand-in PFS files for the tests and benchmarks: not real data, real layouts.

Writers of the exact HDU layouts of the Subaru PFS datamodel (datamodel.txt and its python
package: PfsFiberArray/PfsSimpleSpectrum._writeImpl for pfsSingle/pfsObject,
PfsTargetSpectra.writeFits for pfsCalibrated/pfsCoadd, PfsFiberArraySet.writeFits for
pfsArm/pfsMerged), written here from the spec; the datamodel package is not used.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import astropy.wcs
import numpy as np
import yaml
from astropy.io import fits

PLANES = {
    "BAD": 0,
    "SAT": 1,
    "INTRP": 2,
    "CR": 3,
    "EDGE": 4,
    "NO_DATA": 8,
    "UNMASKEDNAN": 11,
    "BAD_SKY": 14,
    "BAD_FLUXCAL": 15,
}
"""Bit of each mask plane in the fixtures (a subset of the LSST/DRP planes)."""
FLAMBDA = u.erg / u.s / u.cm**2 / u.AA


def to_njy(wave_nm: np.ndarray, flam: np.ndarray, scale: float = 1e-17) -> np.ndarray:
    """f_λ in ``scale`` erg/s/cm²/Å → nJy (f_ν = f_λ λ²/c)."""
    return (np.asarray(flam) * scale * FLAMBDA).to_value(
        u.nJy, equivalencies=u.spectral_density(np.asarray(wave_nm) * u.nm)
    )


def from_njy(wave_nm: np.ndarray, fnu: np.ndarray, scale: float = 1e-17) -> np.ndarray:
    """Inverse of :func:`to_njy`."""
    return (np.asarray(fnu) * u.nJy).to_value(
        FLAMBDA, equivalencies=u.spectral_density(np.asarray(wave_nm) * u.nm)
    ) / scale


def bits(mask: np.ndarray, plane: str) -> np.ndarray:
    """An int32 MASK array with ``plane`` set where ``mask`` is True."""
    return np.where(mask, 1 << PLANES[plane], 0).astype(np.int32)


def wcs_header(wave_nm: np.ndarray) -> fits.Header:
    """The header the datamodel's WavelengthArray.toFitsHeader writes for a linear grid: an
    astropy WCS with CRVAL1 at the centre, CRPIX1 = n/2 + 1.5, CUNIT1 nm (stored in metres)."""
    wcs = astropy.wcs.WCS(naxis=1)
    wcs.wcs.ctype = ["WAVE"]
    wcs.wcs.cname = ["Wavelength"]
    wcs.wcs.crval = [0.5 * (wave_nm[0] + wave_nm[-1])]
    wcs.wcs.crpix = [0.5 * len(wave_nm) + 1.5]
    wcs.wcs.cunit = [u.nm]
    wcs.wcs.cdelt = [(wave_nm[-1] - wave_nm[0]) / (len(wave_nm) - 1)]
    return wcs.to_header()


def plane_header(planes: dict[str, int]) -> fits.Header:
    header = fits.Header()
    for name, bit in planes.items():
        header[("HIERARCH " if len(name) > 5 else "") + "MP_" + name] = bit
    return header


def _observations(target_ids, visits, arms, fibers, obs_time="PA()") -> fits.BinTableHDU:
    n = len(visits)
    cols = [] if target_ids is None else [fits.Column("targetId", "I", array=target_ids)]
    cols += [
        fits.Column("visit", "J", array=visits),
        fits.Column("arm", "PA()" if target_ids is not None else "4A", array=arms),
        fits.Column("spectrograph", "J", array=np.ones(n)),
        fits.Column("pfsDesignId", "K", array=np.full(n, 0x1234)),
        fits.Column("fiberId", "J", array=fibers),
        fits.Column("pfiNominal", "2E" if target_ids is None else "2D", array=np.zeros((n, 2))),
        fits.Column("pfiCenter", "2E" if target_ids is None else "2D", array=np.zeros((n, 2))),
        fits.Column(
            "obsTime",
            obs_time if target_ids is not None else "19A",
            array=["2025-03-01T10:00:00"] * n,
        ),
        fits.Column("expTime", "E", array=np.full(n, 900.0)),
    ]
    return fits.BinTableHDU.from_columns(cols, name="OBSERVATIONS")


def write_single(
    path: Path,
    wave_nm: np.ndarray,
    flux: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    *,
    planes: dict[str, int] = PLANES,
    wcs: bool = True,
    obj_id: int = 0x2468ACE,
    fiber_id: int = 640,
    arms: tuple[str, ...] = ("m",),
    visits: tuple[int, ...] = (97821,),
) -> Path:
    """pfsSingle/pfsObject: FLUX (WCS or WAVELENGTH), MASK, TARGET, SKY, COVAR, COVAR2,
    OBSERVATIONS, FLUX_TABLE."""
    header = wcs_header(wave_nm) if wcs else fits.Header()
    header["DAMD_VER"] = (2, "PfsSimpleSpectrum datamodel version")
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(flux.astype(np.float32), header=header, name="FLUX")]
    mask_header = plane_header(planes)
    mask_header.extend(header)
    hdus.append(fits.ImageHDU(mask.astype(np.int32), header=mask_header, name="MASK"))
    if not wcs:
        hdus.append(fits.ImageHDU(wave_nm.astype(np.float64), header=header, name="WAVELENGTH"))
    target = fits.Header()
    for key, value in (
        ("CATID", 90006),
        ("TRACT", 1),
        ("PATCH", "1,1"),
        ("OBJID", obj_id),
        ("RA", 10.0),
        ("DEC", 41.0),
        ("HIERARCH TARGETTYPE", 1),
    ):
        target[key] = value
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("filterName", "5A", array=["i_hsc"]),
                fits.Column("fiberFlux", "E", array=[1e4]),
            ],
            header=target,
            name="TARGET",
        )
    )
    hdus.append(fits.ImageHDU(np.zeros(flux.size, np.float32), header=header, name="SKY"))
    covar = np.stack([variance, 0.1 * variance, 0.01 * variance]).astype(np.float32)
    hdus.append(fits.ImageHDU(covar, header=header, name="COVAR"))
    hdus.append(fits.ImageHDU(np.zeros((5, 5), np.float32), name="COVAR2"))
    n_obs = len(visits)
    hdus.append(
        _observations(
            None,
            list(visits),
            list(arms) * n_obs if len(arms) == 1 else list(arms),
            [fiber_id] * n_obs,
        )
    )
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("wavelength", "D", array=wave_nm),
                fits.Column("flux", "E", array=flux),
                fits.Column("error", "E", array=np.sqrt(variance)),
                fits.Column("mask", "K", array=mask),
            ],
            header=plane_header(planes),
            name="FLUX_TABLE",
        )
    )
    fits.HDUList(hdus).writeto(path)
    return path


def _component(
    name: str, rows: list[np.ndarray], dtype: type, table: bool
) -> fits.ImageHDU | fits.BinTableHDU:
    """One per-spectrum quantity as the datamodel writes it: image, or `value`/`row_N` table."""
    code = {np.float32: "E", np.float64: "D", np.int32: "J"}[dtype]
    if not table:
        hdu_class = fits.CompImageHDU if dtype is np.int32 else fits.ImageHDU
        return hdu_class(np.array(rows, dtype=dtype), name=name)
    if rows[0].ndim == 1:
        return fits.BinTableHDU.from_columns(
            [fits.Column("value", f"P{code}()", array=[r.astype(dtype) for r in rows])], name=name
        )
    return fits.BinTableHDU.from_columns(
        [
            fits.Column(f"row_{i}", f"P{code}()", array=[r[i].astype(dtype) for r in rows])
            for i in range(rows[0].shape[0])
        ],
        name=name,
    )


def write_target_spectra(
    path: Path,
    waves: list[np.ndarray],
    fluxes: list[np.ndarray],
    variances: list[np.ndarray],
    masks: list[np.ndarray],
    *,
    planes: dict[str, int] = PLANES,
    table: bool = False,
    obj_ids: list[int] | None = None,
    fibers: list[int] | None = None,
) -> Path:
    """pfsCalibrated/pfsCoadd: TARGET, TARGETFLUX, OBSERVATIONS, WAVELENGTH (one array when all
    are equal), FLUX, MASK, SKY, COVAR (images, or tables with ``table``), COVAR2, METADATA,
    FLUXTABLE, NOTES."""
    n = len(fluxes)
    tid = np.arange(n, dtype=np.int16)
    obj_ids = obj_ids or [0x1000 + i for i in range(n)]
    fibers = fibers or [100 + i for i in range(n)]
    hdus = [fits.PrimaryHDU(header=fits.Header([("DAMD_VER", 1)]))]
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("targetId", "I", array=tid),
                fits.Column("catId", "J", array=np.full(n, 90006)),
                fits.Column("tract", "J", array=np.ones(n)),
                fits.Column("patch", "PA()", array=["1,1"] * n),
                fits.Column("objId", "K", array=obj_ids),
                fits.Column("ra", "D", array=np.zeros(n)),
                fits.Column("dec", "D", array=np.zeros(n)),
                fits.Column("targetType", "I", array=np.ones(n)),
            ],
            name="TARGET",
        )
    )
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("targetId", "I", array=tid),
                fits.Column("filterName", "PA()", array=["i_hsc"] * n),
                fits.Column("fiberFlux", "E", array=np.full(n, 1e4)),
            ],
            name="TARGETFLUX",
        )
    )
    hdus.append(_observations(tid, [97821] * n, ["bmn"] * n, fibers))
    same = len({w.size for w in waves}) == 1 and all(np.array_equal(w, waves[0]) for w in waves)
    if same and not table:
        hdus.append(fits.ImageHDU(waves[0].astype(np.float64), name="WAVELENGTH"))
    else:
        hdus.append(_component("WAVELENGTH", waves, np.float64, table))
    hdus.append(_component("FLUX", fluxes, np.float32, table))
    hdus.append(_component("MASK", masks, np.int32, table))
    hdus.append(_component("SKY", [np.zeros_like(f) for f in fluxes], np.float32, table))
    covar = [np.stack([v, 0.1 * v, 0.01 * v]) for v in variances]
    hdus.append(_component("COVAR", covar, np.float32, table))
    hdus.append(fits.ImageHDU(np.zeros((n, 5, 5), np.float32), name="COVAR2"))
    meta = yaml.dump({f"MP_{k}": v for k, v in planes.items()})
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("targetId", "I", array=tid),
                fits.Column("metadata", "PA()", array=[meta] * n),
            ],
            name="METADATA",
        )
    )
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("targetId", "I", array=tid),
                fits.Column("wavelength", "QD()", array=waves),
                fits.Column("flux", "QE()", array=fluxes),
                fits.Column("error", "QE()", array=[np.sqrt(v) for v in variances]),
                fits.Column("mask", "QJ()", array=masks),
            ],
            name="FLUXTABLE",
        )
    )
    hdus.append(
        fits.BinTableHDU.from_columns([fits.Column("targetId", "I", array=tid)], name="NOTES")
    )
    fits.HDUList(hdus).writeto(path)
    return path


def write_fiber_array_set(
    path: Path,
    waves: np.ndarray,
    flux: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    *,
    fibers: list[int],
    arm: str = "m",
    planes: dict[str, int] = PLANES,
) -> Path:
    """pfsArm/pfsMerged: the primary header carries the MP_* planes; FIBERID, WAVELENGTH, FLUX,
    MASK, SKY, NORM, COVAR images; CONFIG (visit, arm, spectrograph, pfsDesignId)."""
    header = plane_header(planes)
    header["DAMD_VER"] = (2, "PfsFiberArraySet datamodel version")
    covar = np.stack([variance, 0.1 * variance, 0.01 * variance], axis=1)
    hdus = [fits.PrimaryHDU(header=header)]
    for name, data in (
        ("FIBERID", np.asarray(fibers, np.int32)),
        ("WAVELENGTH", waves),
        ("FLUX", flux),
        ("MASK", mask.astype(np.int32)),
        ("SKY", np.zeros_like(flux)),
        ("NORM", np.ones_like(flux)),
        ("COVAR", covar),
    ):
        hdus.append(fits.ImageHDU(data, name=name))
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("visit", "J", array=[97821]),
                fits.Column("arm", f"{len(arm)}A", array=[arm]),
                fits.Column("spectrograph", "J", array=[1]),
                fits.Column("pfsDesignId", "K", array=[0x1234]),
                fits.Column("obsTime", "PA()", array=["2025-03-01T10:00:00"]),
                fits.Column("expTime", "D", array=[900.0]),
            ],
            name="CONFIG",
        )
    )
    fits.HDUList(hdus).writeto(path)
    return path
