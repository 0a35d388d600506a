"""Precomputed ETC noise tables over observing conditions, and their evaluation per spectrum.

What depends on the conditions is split so that the tables stay small and interpolation is
exact where it can be:

* sky lines + continuum [e⁻ s⁻¹ pixel⁻¹] at the field centre, tabulated over zenith angle
  (airmass and extinction enter per line, so this is interpolated linearly in zenith angle);
* moonlight = Σ_{Rayleigh, Mie} (scalar K&S brightness) × (spectral shape in e⁻ s⁻¹ nL⁻¹):
  exact factorization, the scalars are computed per spectrum;
* field angle changes the sky by vignetting × fibre solid angle and the object by vignetting:
  exact scalar factors;
* the fibre aperture factor, tabulated over (seeing, field angle) at a few wavelengths;
* fixed per-pixel arrays: object count conversion, extinction coefficient, telluric
  transmission averaged over the LSF.

The variance then follows the ETC: c × [sky + (floor √N · max(sky_{i−1..i+1}))² + stray × mean
sky + (dark t + RN²) × extraction width] + object counts, where c is the background-variance
factor of the ETC calibration (``noise.etc_calibration``; its throughput factor is already in
every count through :class:`~pfsdenoise.observe.instrument.Instrument`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.blas import one_thread
from pfsdenoise.observe.instrument import (
    PHOTONS_PER_ERG_1NM,
    Instrument,
    etc_calibration,
    load_table,
)
from pfsdenoise.observe.lsf import KernelTable, pixel_matrix, trace_fraction
from pfsdenoise.observe.sky import (
    airmass,
    extinction_mag_per_airmass,
    fibre_aperture_factor,
    moon_brightness_components,
    moon_spectral_shapes,
    sky_continuum_photons,
)

FLUX_UNIT = 1e-17  # erg s⁻¹ cm⁻² Å⁻¹: flux densities are carried in this unit


class ConditionError(ValueError):
    """Observing conditions outside the precomputed noise table."""


def _trace_fraction_curve(inst: Instrument, wave_nm: np.ndarray, adjacent: bool) -> np.ndarray:
    nodes = np.linspace(inst.wave_min_nm, inst.wave_max_nm, 8)
    return np.interp(wave_nm, nodes, [trace_fraction(inst, w, adjacent) for w in nodes])


def build_noise_table(noise: dict) -> dict[str, np.ndarray]:
    """Compute all tables from the ``noise`` config section; returns arrays + ``metadata``."""
    inst = Instrument.from_config(noise)  # throughput includes the calibration's factor
    calibration = etc_calibration(noise["etc_calibration"])
    kernel = KernelTable(inst, int(noise["sky_line_half_width_pix"]))
    wave = inst.pixel_centres_nm()
    dl = inst.dl_nm
    grid = noise["table"]
    zen = np.asarray(grid["zenith_angle"], dtype=np.float64)
    field = np.asarray(grid["field_angle"], dtype=np.float64)
    seeing = np.asarray(grid["seeing"], dtype=np.float64)
    for name, axis in (("zenith_angle", zen), ("field_angle", field), ("seeing", seeing)):
        if axis.size < 2 or np.any(np.diff(axis) <= 0):
            raise ValueError(f"noise.table.{name} must be >= 2 increasing values, got {axis}")

    ft_sky = _trace_fraction_curve(inst, wave, adjacent=True)
    ft_obj = _trace_fraction_curve(inst, wave, adjacent=False)
    omega = np.pi * inst.fibre_radius_arcsec(0.0) ** 2  # fibre solid angle [arcsec²]
    aeff0 = inst.effective_area_m2(wave, 0.0)
    k_ext = extinction_mag_per_airmass(wave)

    # Telluric line transmission averaged over each pixel's LSF.
    tell = load_table("etc_mr_telluric.txt")
    avg = pixel_matrix(inst, kernel, tell[:, 0], np.ones(tell.shape[0]), normalize=True)
    tell_pix = (avg @ tell[:, 1]) / (avg @ np.ones(tell.shape[0]))

    # Sky lines: spread each line with the pixel response, then scale per zenith angle.
    lines = load_table("etc_mr_skylines.txt")
    lam_l, int_l = lines[:, 0], np.clip(lines[:, 1], 0, None)
    per_s_line = (
        int_l * lam_l * 1e-12 * PHOTONS_PER_ERG_1NM
        * np.interp(lam_l, wave, ft_sky)
        * inst.effective_area_m2(lam_l, 0.0) * omega
    )  # fmt: skip
    spread = pixel_matrix(inst, kernel, lam_l, np.ones(lam_l.size), normalize=False)
    k_line = extinction_mag_per_airmass(lam_l)
    cont = sky_continuum_photons(wave) * dl * aeff0 * omega * ft_sky
    sky = np.empty((zen.size, wave.size))
    for i, z in enumerate(zen):
        x = airmass(z)
        # UVES intensities refer to airmass 1.1 (ETC); e^(−kX/1.086) = 10^(−0.4 k X)
        sky[i] = spread @ (per_s_line * x / 1.1 * np.exp(-k_line * x / 1.086))
        trans = 10 ** (-0.4 * k_ext / np.cos(np.radians(z))) * tell_pix
        sky[i] += cont * x * trans

    rs, ms = moon_spectral_shapes(wave)
    moon_unit = dl * aeff0 * omega * ft_sky

    nodes = np.linspace(inst.wave_min_nm, inst.wave_max_nm, int(grid["aperture_wave_nodes"]))
    aperture = np.array(
        [
            [
                fibre_aperture_factor(
                    inst, nodes, s, f, noise["source_effective_radius_arcsec"],
                    noise["fibre_offset_arcsec"],
                )
                for f in field
            ]
            for s in seeing
        ]
    )  # fmt: skip

    # e⁻ s⁻¹ per (1e-17 erg s⁻¹ cm⁻² Å⁻¹) of mean flux density in a pixel, field centre.
    obj = FLUX_UNIT * dl * 10 * PHOTONS_PER_ERG_1NM * wave * aeff0 * 1e4 * ft_obj

    metadata = {
        "units": {
            "sky_per_s": "e-/s/pixel",
            "moon_*_per_s": "e-/s/pixel/nanoLambert",
            "object_per_s": "e-/s/pixel per 1e-17 erg/s/cm2/A",
            "wave_nm": "nm (vacuum, pixel centres)",
        },
        "k_v": float(extinction_mag_per_airmass(550.0)),
        "dark_e_per_s": inst.dark_e_per_s,
        "read_noise_e": inst.read_noise_e,
        "extraction_width_pix": inst.extraction_width_pix,
        "stray_geometry": inst.extraction_width_pix * inst.pixel_um / inst.trace_separation_um,
        "sky_sub_floor": float(noise["sky_sub_floor"]),
        "diffuse_stray": float(noise["diffuse_stray"]),
        "source_effective_radius_arcsec": float(noise["source_effective_radius_arcsec"]),
        "etc_calibration": str(noise["etc_calibration"]),
        "background_variance_factor": calibration.background_variance,
        "noise_config": noise,
        "lsf_fwhm_pix": [kernel.fwhm_pix(w) for w in (720.0, 800.0, 880.0)],
    }
    return {
        "wave_nm": wave,
        "zenith_angle": zen,
        "field_angle": field,
        "seeing": seeing,
        "sky_per_s": sky,
        "moon_rayleigh_per_s": rs * moon_unit,
        "moon_mie_per_s": ms * moon_unit,
        "sky_field_factor": inst.sky_field_factor(field),
        "object_field_factor": inst.object_field_factor(field),
        "aperture_wave_nm": nodes,
        "aperture": aperture,
        "object_per_s": obj,
        "extinction_k": k_ext,
        "telluric": tell_pix,
        "metadata": np.array(json.dumps(metadata)),
    }


def write_noise_table(path: str | Path, tables: dict[str, np.ndarray]) -> None:
    """Write the tables as one ``.npz`` file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **tables)


@dataclass
class Conditions:
    """Observing conditions of n spectra (1-D arrays of equal length)."""

    zenith_angle: np.ndarray
    field_angle: np.ndarray
    seeing: np.ndarray
    moon_zenith_angle: np.ndarray
    moon_separation: np.ndarray
    moon_phase: np.ndarray
    exp_time: np.ndarray
    n_exp: np.ndarray


def _linear(axis: np.ndarray, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Index and fraction of ``x`` on a tabulated ``axis``; ConditionError outside it."""
    x = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(x) | (x < axis[0] - 1e-9) | (x > axis[-1] + 1e-9)
    if bad.any():
        raise ConditionError(
            f"{name} = {float(x[bad][0])} is outside the noise table range "
            f"[{axis[0]}, {axis[-1]}]; widen noise.table.{name} or the sampling range"
        )
    i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
    return i, np.clip((x - axis[i]) / (axis[i + 1] - axis[i]), 0.0, 1.0)


@dataclass
class NoiseTerms:
    """What the noise model needs per spectrum of a batch, as weights of the table's rows.

    ``sky @ NoiseTable.sky_basis`` is the sky [e⁻ per pixel per exposure];
    ``exp(secz ⊗ NoiseTable.extinction_ln) · (obj @ NoiseTable.object_basis)`` the object
    count conversion. The numpy evaluation (:class:`NoiseTable`) and its torch port
    (:mod:`pfsdenoise.learn.generate`) both start from these and the same basis tables.
    """

    sky: np.ndarray  # (n, n_zenith + 2): zenith-angle interpolation, Moon Rayleigh, Mie
    obj: np.ndarray  # (n, n_aperture_nodes): aperture factor × field factor × exp_time
    secz: np.ndarray  # (n,) airmass of the object's extinction, sec z
    floor2: np.ndarray  # (n,) sky-subtraction floor² × n_exp
    constant: np.ndarray  # (n,) detector: (dark · t + RN²) × extraction width
    n_exp: np.ndarray  # (n,)


class NoiseTable:
    """A loaded noise table; evaluates sky variance and object count conversion per spectrum.

    Arithmetic in float32 on (n, n_pix) arrays, in place where possible: the noise model is
    a large part of the observe step's time.
    """

    def __init__(self, path: str | Path):
        with np.load(path) as data:
            self.t = {k: data[k] for k in data.files}
        self.meta = json.loads(str(self.t.pop("metadata")))
        self.wave_nm = self.t["wave_nm"]
        t = self.t
        # linear interpolation weights from the aperture wavelength nodes to the pixels
        nodes = t["aperture_wave_nm"]
        node_to_pix = np.array([np.interp(self.wave_nm, nodes, e) for e in np.eye(nodes.size)])
        base = t["telluric"] * t["object_per_s"]
        self.sky_basis = np.vstack(
            [t["sky_per_s"], t["moon_rayleigh_per_s"], t["moon_mie_per_s"]]
        ).astype(np.float32)
        self.object_basis = (node_to_pix * base).astype(np.float32)
        # 10^(−0.4 k sec z) = exp(sec z · (−0.4 ln 10 k))
        self.extinction_ln = (-0.4 * np.log(10.0) * t["extinction_k"]).astype(np.float32)

    def terms(self, c: Conditions) -> NoiseTerms:
        """Per-spectrum weights of the tables; :class:`ConditionError` outside the table."""
        t, m = self.t, self.meta
        n_zen = t["zenith_angle"].size
        i, f = _linear(t["zenith_angle"], c.zenith_angle, "zenith_angle")
        j, g = _linear(t["field_angle"], c.field_angle, "field_angle")
        k, h = _linear(t["seeing"], c.seeing, "seeing")
        n = i.size
        rows = np.arange(n)
        exp_time = np.asarray(c.exp_time, dtype=np.float64)
        n_exp = np.asarray(c.n_exp, dtype=np.float64)
        sky_ff = t["sky_field_factor"][j] * (1 - g) + t["sky_field_factor"][j + 1] * g
        b_rs, b_ms = moon_brightness_components(
            c.moon_phase, c.moon_separation, c.moon_zenith_angle, c.zenith_angle, m["k_v"]
        )
        sky = np.zeros((n, n_zen + 2))
        sky[rows, i] = 1 - f
        sky[rows, i + 1] += f
        sky[:, n_zen] = b_rs
        sky[:, n_zen + 1] = b_ms
        sky *= (sky_ff * exp_time)[:, None]
        a = t["aperture"]
        ap = (
            a[k, j] * ((1 - h) * (1 - g))[:, None]
            + a[k + 1, j] * (h * (1 - g))[:, None]
            + a[k, j + 1] * ((1 - h) * g)[:, None]
            + a[k + 1, j + 1] * (h * g)[:, None]
        )
        obj_ff = t["object_field_factor"][j] * (1 - g) + t["object_field_factor"][j + 1] * g
        detector = m["dark_e_per_s"] * exp_time + m["read_noise_e"] ** 2
        return NoiseTerms(
            sky=sky,
            obj=ap * (obj_ff * exp_time)[:, None],
            secz=1.0 / np.cos(np.radians(np.asarray(c.zenith_angle, dtype=np.float64))),
            floor2=m["sky_sub_floor"] ** 2 * n_exp,
            constant=detector * m["extraction_width_pix"],
            n_exp=n_exp,
        )

    def sky_counts(self, c: Conditions | NoiseTerms) -> np.ndarray:
        """Sky (lines + continuum + Moon) [e⁻ per pixel per exposure], (n, n_pix) float32."""
        terms = c if isinstance(c, NoiseTerms) else self.terms(c)
        with one_thread():
            return terms.sky.astype(np.float32) @ self.sky_basis

    def background_variance(self, c: Conditions | NoiseTerms) -> np.ndarray:
        """Variance without the object [e² per pixel per exposure] (ETC noise vector):
        sky + (floor √N · max(sky_{i−1..i+1}))² + stray × mean sky + detector, times the
        calibration's background-variance factor as in the ETC's ``gsGetNoise``."""
        terms = c if isinstance(c, NoiseTerms) else self.terms(c)
        sky = self.sky_counts(terms)
        var = sky.copy()
        np.maximum(var[:, 1:], sky[:, :-1], out=var[:, 1:])
        np.maximum(var[:, :-1], sky[:, 1:], out=var[:, :-1])
        var *= var
        var *= terms.floor2.astype(np.float32)[:, None]
        var += sky
        stray = self.meta["diffuse_stray"] * self.meta["stray_geometry"] * sky.mean(axis=1)
        var += (stray + terms.constant).astype(np.float32)[:, None]
        var *= np.float32(self.meta["background_variance_factor"])
        return var

    def counts_per_flux(self, c: Conditions | NoiseTerms) -> np.ndarray:
        """Object e⁻ per pixel per exposure per 1e-17 erg s⁻¹ cm⁻² Å⁻¹ above the atmosphere,
        (n, n_pix) float32."""
        terms = c if isinstance(c, NoiseTerms) else self.terms(c)
        atm = np.exp(np.multiply.outer(terms.secz.astype(np.float32), self.extinction_ln))
        with one_thread():
            atm *= terms.obj.astype(np.float32) @ self.object_basis
        return atm


def produce_noise_table(output: str | Path, noise: dict, provenance: Mapping[str, Any]) -> None:
    """Build the noise table from the ``noise`` config section, write it atomically, and write
    its provenance sidecar (``<output>.prov.json``). The shipped ETC-derived tables it reads are
    package data: their contents are part of the record's code hash."""
    from pfsdenoise.provenance import write_sidecar

    write_noise_table(output, build_noise_table(noise))
    record = {
        **provenance,
        "source": "Subaru PFS ETC (Hirata et al. 2012), commit aac84fa2; MIT",
    }
    write_sidecar(output, record)
