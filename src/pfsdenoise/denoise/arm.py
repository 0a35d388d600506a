"""Where an input wavelength grid meets the model's arm: cut, sampling check, rebinning matrices.

A model knows one arm (the MR red arm, 710–885 nm in 0.0427 nm pixels; SCIENCE.md §3). An input
grid may cover more (arm-merged spectra, 380–1260 nm): only its pixels inside the arm are used,
the others are flagged as outside. A grid that does not reach the arm, or whose pixels are much
coarser than the model's (low-resolution arms), is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pfsdenoise.denoise.rebin import pixel_edges, rebin_matrix

MAX_STEP_RATIO = 1.25
"""Largest median pixel step of an input, relative to the model's, accepted as MR data (choice).
MR pixels are 0.0427 nm (SCIENCE.md §3); the low-resolution red arm has 0.082–0.088 nm and
merged LR spectra are sampled at 0.08 nm (datamodel.txt, pfsObject: "in the red, 0.88 to 0.82
A/pix ... We propose that we sample at 0.8 A/pixel"), twice as coarse."""


class SpectrumError(ValueError):
    """Input arrays that cannot be denoised by a model (grid, shape, values)."""


@dataclass
class Placement:
    """One input grid placed on the model's arm.

    ``flip``: the input runs from red to blue (reversed before use); ``inside``: input pixels
    (in increasing order) inside the arm; ``to_model`` / ``back``: rebinning matrices between
    those pixels and the model's; ``coverage``: fraction of the model's pixels covered.
    """

    flip: bool
    inside: np.ndarray
    to_model: sp.csr_matrix
    back: sp.csr_matrix
    coverage: float


class ArmGrid:
    """The model's pixel grid [vacuum Å] and the checks of input grids against it."""

    def __init__(self, wave: np.ndarray, path: str = "model") -> None:
        self.wave = np.asarray(wave, dtype=np.float64)
        self.edges = pixel_edges(self.wave)
        self.step = float(np.median(np.diff(self.wave)))
        self.path = path

    def describe(self) -> str:
        return (
            f"{self.wave[0] / 10:.1f}-{self.wave[-1] / 10:.1f} nm in {self.step / 10:.4f} nm "
            f"pixels ({self.path})"
        )

    def place(self, wave: np.ndarray, source: str = "input") -> Placement:
        """Check one 1-D input grid [vacuum Å] and place it on the arm (see :class:`Placement`)."""
        wave = np.asarray(wave, dtype=np.float64)
        if wave.ndim != 1 or wave.size < 2:
            raise SpectrumError(f"{source}: wavelength must be a 1-D array of ≥ 2 pixels")
        if not np.all(np.isfinite(wave)):
            raise SpectrumError(f"{source}: wavelength holds NaN/inf values")
        flip = wave[-1] < wave[0]
        if flip:
            wave = wave[::-1]
        step = np.diff(wave)
        if not np.all(step > 0):
            k = int(np.flatnonzero(~(step > 0))[0])
            raise SpectrumError(
                f"{source}: wavelengths are not strictly monotonic (pixel {k + 1}: "
                f"{wave[k + 1]:.4f} after {wave[k]:.4f} Å); sort the arrays"
            )
        inside = (wave >= self.edges[0]) & (wave <= self.edges[-1])
        if inside.sum() < 2:
            raise SpectrumError(
                f"{source}: no pixel in the model's arm ({self.describe()}): the input covers "
                f"{wave[0] / 10:.1f}-{wave[-1] / 10:.1f} nm, outside the model's arm; the model "
                "is for the medium-resolution red arm (vacuum wavelengths: check --wave-unit "
                "and --air)"
            )
        used = wave[inside]
        in_step = float(np.median(np.diff(used)))
        if in_step > MAX_STEP_RATIO * self.step:
            raise SpectrumError(
                f"{source}: {in_step / 10:.2g} nm pixels are coarser than the MR arm's "
                f"{self.step / 10:.3f} nm: this looks like low-resolution data; the model is for "
                "the medium-resolution red arm"
            )
        to_model = rebin_matrix(used, self.wave)
        coverage = float(np.mean(np.asarray(to_model.sum(axis=1)).ravel() >= 0.5))
        return Placement(flip, inside, to_model, rebin_matrix(self.wave, used), coverage)
