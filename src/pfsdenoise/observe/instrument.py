"""The PFS medium-resolution red arm as the ETC describes it: pixels, optics, detector.

Every number comes from the ``noise`` section of config.yaml, whose defaults cite the ETC's
instrument file PFS.redMR.20211220.dat (Subaru PFS ETC, © Subaru PFS Project, MIT). The derived
throughput table is read from ``pfsdenoise/data/etc_mr_throughput.txt``, times the throughput
factor of the chosen ETC calibration (:data:`ETC_CALIBRATIONS`, config ``noise.etc_calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import resources

import numpy as np

ARCSEC_PER_URAD = 0.206264806247097
PHOTONS_PER_ERG_1NM = 5.03411747e8  # photons per erg at 1 nm: λ / (h c)


def data_path(name: str):
    """Path of a file shipped in ``pfsdenoise/data``."""
    return resources.files("pfsdenoise") / "data" / name


def load_table(name: str) -> np.ndarray:
    """A whitespace table shipped in ``pfsdenoise/data`` (``#`` comment header)."""
    with resources.as_file(data_path(name)) as path:
        return np.loadtxt(path, ndmin=2)


@dataclass(frozen=True)
class EtcCalibration:
    """Empirical corrections of the ETC's MR red arm, fitted by the ETC team to observations.

    ``throughput`` multiplies the throughput table, hence every photon count (object, sky lines,
    sky continuum, moonlight); ``background_variance`` multiplies the variance without the
    object (sky, sky-subtraction residual, stray light, dark current and read noise), not the
    object's own Poisson term. That is where the ETC applies them (gsetc.c: the THRPUT table
    read in ``gsReadSpectrographConfig`` and the end of ``gsGetNoise``).
    """

    throughput: float
    background_variance: float


# Subaru-PFS/spt_ExposureTimeCalculator commit 1d085f2 (2025-07-30, "adjust noise and throughput
# based on previous observations"): MR red arm throughput x 1.20, noise variance x 1.015. The
# shared ETC reference run (commit aac84fa2) includes them; "none" is the ETC as it stood when
# Pal & Dobos (2024, 2025) were written.
ETC_CALIBRATIONS = {
    "2025": EtcCalibration(throughput=1.20, background_variance=1.015),
    "none": EtcCalibration(throughput=1.0, background_variance=1.0),
}


def etc_calibration(name: str) -> EtcCalibration:
    """The ETC calibration called ``name`` (config ``noise.etc_calibration``)."""
    try:
        return ETC_CALIBRATIONS[str(name)]
    except KeyError:
        raise ValueError(
            f"noise.etc_calibration = {name!r} is not one of {sorted(ETC_CALIBRATIONS)}"
        ) from None


# config `noise.camera` keys → Instrument fields, where the names differ
_CAMERA_FIELDS = {
    "f_ratio": "camera_f_ratio",
    "temperature_k": "ccd_temperature_k",
    "spot_rms_um": "camera_spot_rms_um",
}


@dataclass(frozen=True)
class Instrument:
    """Spectrograph arm and telescope constants (lengths as named, wavelengths in nm)."""

    wave_min_nm: float
    wave_max_nm: float
    n_pix: int
    extraction_width_pix: int
    diameter_m: float
    central_obstruction: float
    field_radius_deg: float
    efl_m: tuple[float, ...]
    spot_rms_um: tuple[float, ...]
    vignetting: tuple[float, ...]
    fibre_radius_um: float
    camera_f_ratio: float
    ccd_thickness_um: float
    pixel_um: float
    ccd_temperature_k: float
    camera_spot_rms_um: float
    fibre_image_um: float
    dark_e_per_s: float
    read_noise_e: float
    trace_separation_um: float
    grating_lines: float
    throughput_nm: np.ndarray
    throughput: np.ndarray

    @classmethod
    def from_config(cls, noise: dict) -> Instrument:
        """Build from the ``noise`` config section (``arm``, ``telescope``, ``camera`` and
        ``etc_calibration`` keys)."""
        tel = noise["telescope"]
        for key in ("efl_m", "spot_rms_um", "vignetting"):
            if len(tel[key]) != 5:
                raise ValueError(
                    f"noise.telescope.{key} needs 5 values (field centre to edge), got {tel[key]}"
                )
        camera = {_CAMERA_FIELDS.get(k, k): v for k, v in noise["camera"].items()}
        values = {**noise["arm"], **tel, **camera}
        kwargs = {}
        for f in fields(cls):
            if f.name.startswith("throughput"):
                continue
            if f.name not in values:
                raise ValueError(f"noise section lacks the instrument constant for {f.name!r}")
            kind = {"int": int, "tuple[float, ...]": lambda v: tuple(map(float, v))}
            kwargs[f.name] = kind.get(str(f.type), float)(values[f.name])
        thr = load_table("etc_mr_throughput.txt")
        factor = etc_calibration(noise["etc_calibration"]).throughput
        return cls(**kwargs, throughput_nm=thr[:, 0], throughput=thr[:, 1] * factor)

    @property
    def dl_nm(self) -> float:
        """Pixel width [nm] (uniform in wavelength)."""
        return (self.wave_max_nm - self.wave_min_nm) / self.n_pix

    def pixel_edges_nm(self) -> np.ndarray:
        return self.wave_min_nm + self.dl_nm * np.arange(self.n_pix + 1)

    def pixel_centres_nm(self) -> np.ndarray:
        return self.wave_min_nm + self.dl_nm * (np.arange(self.n_pix) + 0.5)

    def _along_field(self, values: tuple[float, ...], field_angle) -> np.ndarray:
        """Linear interpolation of a 5-node centre-to-edge quantity; clamped beyond the edge."""
        nodes = np.linspace(0.0, self.field_radius_deg, 5)
        return np.interp(field_angle, nodes, values)

    def fibre_radius_arcsec(self, field_angle) -> np.ndarray:
        """Fibre entrance radius on the sky [arcsec] (plate scale changes with field angle)."""
        efl = self._along_field(self.efl_m, field_angle)
        return self.fibre_radius_um / efl * ARCSEC_PER_URAD

    def spot_rms_arcsec(self, field_angle) -> np.ndarray:
        efl = self._along_field(self.efl_m, field_angle)
        return self._along_field(self.spot_rms_um, field_angle) * ARCSEC_PER_URAD / efl

    def effective_area_m2(self, wave_nm, field_angle=0.0) -> np.ndarray:
        """Collecting area × vignetting × throughput [m²], no atmosphere, no fibre aperture
        (throughput including the ETC calibration's factor)."""
        area = np.pi / 4 * self.diameter_m**2 * (1 - self.central_obstruction**2)
        thr = np.interp(wave_nm, self.throughput_nm, self.throughput)
        return area * np.multiply.outer(self._along_field(self.vignetting, field_angle), thr)

    def sky_field_factor(self, field_angle) -> np.ndarray:
        """Sky counts at ``field_angle`` relative to the centre: vignetting × fibre solid angle."""
        vig = self._along_field(self.vignetting, field_angle) / self.vignetting[0]
        return vig * (self.fibre_radius_arcsec(field_angle) / self.fibre_radius_arcsec(0.0)) ** 2

    def object_field_factor(self, field_angle) -> np.ndarray:
        """Object collecting-area factor at ``field_angle`` relative to the centre (vignetting)."""
        return self._along_field(self.vignetting, field_angle) / self.vignetting[0]
