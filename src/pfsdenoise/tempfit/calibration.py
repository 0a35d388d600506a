"""The smooth calibration curve of a fit: a Legendre series over the arm, solved linearly.

The model of a spectrum is m = T ⊙ (P c): the template T of :mod:`.forward` times a Legendre
series P c of low degree in x = 2(λ − λ₀)/(λ₁ − λ₀) − 1. Its coefficients c are linear, so for
any template the weighted least-squares c (and the χ² that remains) are one small solve of the
normal equations: they absorb the flux scale (magnitude, median normalization), the smooth
extinction curve and any smooth flux-calibration error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial import legendre


def legendre_basis(wave: np.ndarray, degree: int, span: np.ndarray | None = None) -> np.ndarray:
    """(n, degree + 1) Legendre polynomials P_0 … P_degree at ``wave``, with x from −1 to 1
    over the span of ``span`` (default: of ``wave`` itself)."""
    wave = np.asarray(wave, dtype=np.float64)
    ref = wave if span is None else np.asarray(span, dtype=np.float64)
    x = 2 * (wave - ref[0]) / (ref[-1] - ref[0]) - 1
    return legendre.legvander(x, int(degree))


@dataclass
class LinearFit:
    """The best calibration of a batch of templates."""

    coeff: torch.Tensor  # (n, n_coeff) float64
    curve: torch.Tensor  # (n, n_pix) P c
    model: torch.Tensor  # (n, n_pix) T ⊙ P c
    chi2: torch.Tensor  # (n,) float64; inf where the normal equations are singular


def solve_calibration(
    template: torch.Tensor, flux: torch.Tensor, weight: torch.Tensor, basis: torch.Tensor
) -> LinearFit:
    """Weighted least-squares calibration c of ``template`` (n, n_pix) to ``flux``.

    ``weight`` is 1/σ² (0 on masked pixels), ``basis`` the (n_pix, n_coeff) Legendre matrix,
    all on one device; sums are taken in float64.
    """
    t = template.double()
    design = t[:, :, None] * basis[None]  # (n, n_pix, n_coeff)
    wd = design * weight[:, :, None]
    normal = wd.transpose(1, 2) @ design
    rhs = (wd * flux[:, :, None]).sum(dim=1)
    chol, info = torch.linalg.cholesky_ex(normal)
    ok = info == 0
    coeff = torch.zeros_like(rhs)
    if ok.any():
        coeff[ok] = torch.cholesky_solve(rhs[ok, :, None], chol[ok])[..., 0]
    curve = coeff @ basis.T
    model = t * curve
    chi2 = (weight * (flux - model) ** 2).sum(dim=1)
    chi2 = torch.where(ok, chi2, torch.full_like(chi2, np.inf))
    return LinearFit(coeff=coeff, curve=curve, model=model, chi2=chi2)
