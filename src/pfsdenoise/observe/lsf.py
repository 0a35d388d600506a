"""Line spread function of the MR arm and the sparse "LSF ⊗ pixel" integration matrix.

The 1-D spectrograph MTF follows the PFS ETC model (Hirata et al. 2012; Subaru PFS ETC): the
product of the fibre image (a uniform disk), pixel integration (sinc), the camera spot
(Gaussian), defocus through the depth of the silicon (photons absorbed at depth d spread over a
disk of radius d / (2 n_Si f)), and grating scattering (exp(−λ/(Δλ N_lines)|u|), Lorentzian
wings). Its cosine transform is the fraction of a monochromatic line landing in a pixel at a
given offset, so one kernel covers both the LSF and the pixel integration.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import j1

from pfsdenoise.observe.instrument import Instrument, load_table

# Frequency sampling of the MTF [cycles/pixel] (ETC: 1000 steps of 0.005).
_DU = 0.005
_U = _DU * (np.arange(1000) + 0.5)


def si_absorption_length_um(wave_nm: float, temperature_k: float) -> float:
    """Absorption length of silicon [µm] (Rajkanan, Singh & Shewchun 1979, SSE 22, 793)."""
    beta, k_b, gamma = 7.021e-4, 8.617e-5, 1108.0
    e_g0, e_gd0 = np.array([1.1557, 2.5]), 3.2
    e_p, c, a = np.array([1.827e-2, 5.773e-2]), np.array([5.5, 4.0]), np.array([323.1, 7237.0])
    a_d = 1.052e6
    hnu = 1.239842e-6 / (wave_nm * 1e-9)
    shift = beta * temperature_k**2 / (temperature_k + gamma)
    e_gd, e_g = e_gd0 - shift, e_g0 - shift
    alpha = a_d * np.sqrt(hnu - e_gd) if hnu > e_gd else 0.0
    for i in range(2):
        for j in range(2):
            de = hnu - e_g[j] + e_p[i]
            if de > 0:
                alpha += c[i] * a[j] * de**2 / np.expm1(e_p[i] / k_b / temperature_k)
            de = hnu - e_g[j] - e_p[i]
            if de > 0:
                alpha += c[i] * a[j] * de**2 / -np.expm1(-e_p[i] / k_b / temperature_k)
    return 1e4 / alpha


def si_index(wave_nm: float) -> float:
    """Real refractive index of silicon (tabulated every 5 nm, cubic interpolation)."""
    table = load_table("etc_si_index.txt")
    x = (wave_nm - table[0, 0]) / (table[1, 0] - table[0, 0])
    i = int(np.clip(np.floor(x), 1, table.shape[0] - 3))
    f = x - i
    v = table[i - 1 : i + 3, 1]
    w = np.array([-f * (f - 1) * (f - 2) / 6, (f * f - 1) * (f - 2) / 2])
    w = np.append(w, [-f * (f + 1) * (f - 2) / 2, f * (f * f - 1) / 6])
    return float(w @ v)


def _sinc_disk(x: np.ndarray) -> np.ndarray:
    """2 J1(πx)/(πx), the transform of a uniform disk of unit diameter."""
    out = np.ones_like(x)
    nz = np.abs(x) > 1e-6
    out[nz] = 2 * j1(np.pi * x[nz]) / (np.pi * x[nz])
    return out


def mtf(inst: Instrument, wave_nm: float, u: np.ndarray = _U) -> np.ndarray:
    """1-D spectrograph MTF at ``u`` [cycles/pixel] and wavelength ``wave_nm``."""
    out = _sinc_disk(inst.fibre_image_um / inst.pixel_um * u)
    out = out * np.sinc(u)  # pixel integration
    sig = inst.camera_spot_rms_um / inst.pixel_um
    out = out * np.exp(-2 * np.pi**2 * sig**2 * u**2)
    out = out * _defocus_mtf(inst, wave_nm, u)
    return out * np.exp(-wave_nm / inst.dl_nm / inst.grating_lines * np.abs(u))


def _defocus_mtf(inst: Instrument, wave_nm: float, u: np.ndarray) -> np.ndarray:
    """Blur from photons converting at different depths of the CCD (3 layers, 2× thickness
    traced, light beyond the back side weighted 0.3 for reflection), as in the ETC."""
    n_layer = 3
    step = inst.ccd_thickness_um / n_layer
    mfp = si_absorption_length_um(wave_nm, inst.ccd_temperature_k)
    n_si = si_index(wave_nm)
    if mfp < 1e4 * step:
        d0 = mfp * (1 - (1 + step / mfp) * np.exp(-step / mfp)) / (1 - np.exp(-step / mfp))
    else:
        d0 = 0.5 * step
    num = np.zeros_like(u)
    den = 0.0
    for i in range(2 * n_layer):
        depth = d0 + step * i
        weight = np.exp(-step * i / mfp) * (0.3 if depth > inst.ccd_thickness_um else 1.0)
        arg = 2 * np.pi * depth / n_si / 2 / inst.camera_f_ratio / inst.pixel_um * u
        # ring-averaged transform of a defocus disk, sampled in steps of π/6
        num += weight * (np.cos(0.866025404 * arg) / 6 + 0.5 * np.cos(0.5 * arg) + 1 / 3)
        den += weight
    return num / den


def pixel_response(inst: Instrument, wave_nm: float, offset_pix: np.ndarray) -> np.ndarray:
    """Fraction of a line at ``wave_nm`` falling in a pixel whose centre lies ``offset_pix``
    pixels away (cosine transform of the MTF; includes pixel integration)."""
    m = mtf(inst, wave_nm)
    return 2 * _DU * np.cos(2 * np.pi * np.multiply.outer(offset_pix, _U)) @ m


def trace_fraction(inst: Instrument, wave_nm: float, adjacent: bool) -> float:
    """Fraction of light inside the extraction window of ``extraction_width_pix`` pixels across
    the trace; ``adjacent`` adds the light of the two neighbouring traces (sky; ETC tr = 1)."""
    n = inst.extraction_width_pix
    centres = np.arange(n) - 0.5 * (n - 1)
    total = 0.0
    for j in (-1, 0, 1) if adjacent else (0,):
        shift = j * inst.trace_separation_um / inst.pixel_um
        total += pixel_response(inst, wave_nm, centres - shift).sum()
    return float(total)


class KernelTable:
    """Pixel response tabulated on a fine offset grid at a few wavelength nodes, for fast
    evaluation at many (wavelength, offset) pairs by bilinear interpolation."""

    def __init__(self, inst: Instrument, half_width: int, n_nodes: int = 8, step: float = 0.02):
        self.half_width = half_width
        self.step = step
        self.nodes = np.linspace(inst.wave_min_nm, inst.wave_max_nm, n_nodes)
        self.offsets = np.arange(-half_width - 1, half_width + 1 + step / 2, step)
        self.values = np.array([pixel_response(inst, w, self.offsets) for w in self.nodes])

    def __call__(self, wave_nm: np.ndarray, offset: np.ndarray) -> np.ndarray:
        x = np.clip((wave_nm - self.nodes[0]) / (self.nodes[1] - self.nodes[0]), 0, None)
        i = np.minimum(x.astype(int), self.nodes.size - 2)
        fw = np.clip(x - i, 0, 1)
        y = (offset - self.offsets[0]) / self.step
        k = np.clip(y.astype(int), 0, self.offsets.size - 2)
        fo = y - k
        v = self.values
        lo = v[i, k] * (1 - fo) + v[i, k + 1] * fo
        hi = v[i + 1, k] * (1 - fo) + v[i + 1, k + 1] * fo
        return lo * (1 - fw) + hi * fw

    def fwhm_pix(self, wave_nm: float) -> float:
        """Full width at half maximum [pixels] of the pixel response (LSF ⊗ pixel)."""
        fine = np.linspace(-5, 5, 2001)
        prof = self(np.full(fine.shape, wave_nm), fine)
        above = fine[prof >= 0.5 * prof.max()]
        return float(above[-1] - above[0])


def pixel_matrix(
    inst: Instrument,
    kernel: KernelTable,
    sample_nm: np.ndarray,
    weights: np.ndarray,
    normalize: bool = True,
) -> sp.csr_matrix:
    """Sparse (n_pix, n_samples) matrix M with M[i, j] = weights[j] · K(λ_j, pos_j − i).

    With ``weights`` = sample widths / pixel width, ``M @ f`` maps a flux density sampled at
    ``sample_nm`` to the mean flux density per pixel, conserving the integrated flux (each
    column sums to ``weights[j]`` when ``normalize``: the kernel is rescaled to unit sum over
    its ±``half_width`` window, which drops < 0.3 % of Lorentzian scattering wings). Samples
    whose window misses the arm are dropped; light falling off the arm ends is lost.
    """
    h = kernel.half_width
    pos = (sample_nm - inst.wave_min_nm) / inst.dl_nm - 0.5  # in pixel-centre units
    keep = np.flatnonzero((pos > -h) & (pos < inst.n_pix - 1 + h))
    pos = pos[keep]
    first = np.floor(pos).astype(int) - h + 1
    cols = first[:, None] + np.arange(2 * h)[None, :]
    resp = kernel(sample_nm[keep][:, None], pos[:, None] - cols)
    if normalize:
        resp /= resp.sum(axis=1, keepdims=True)
    resp *= weights[keep][:, None]
    inside = (cols >= 0) & (cols < inst.n_pix)
    rows = np.broadcast_to(keep[:, None], cols.shape)
    m = sp.coo_matrix(
        (resp[inside], (cols[inside], rows[inside])), shape=(inst.n_pix, sample_nm.size)
    )
    return m.tocsr()


def grid_pixel_matrix(
    inst: Instrument, kernel: KernelTable, wave_aa: np.ndarray, log_step: float
) -> sp.csr_matrix:
    """The (n_pix, n_wave) LSF ⊗ pixel matrix from a log-uniform model grid [vacuum Å] to the
    pixels of ``inst``: flux density in, mean flux density per pixel out (:func:`pixel_matrix`
    with each sample weighted by its width, λ Δln λ, over the pixel width)."""
    widths = wave_aa * log_step / (inst.dl_nm * 10)
    return pixel_matrix(inst, kernel, wave_aa / 10, widths)
