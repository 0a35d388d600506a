"""Jacobian, Fisher matrix, covariance and the propagated model uncertainty of a fit.

For m = T(p) ⊙ (P c) with the non-linear p (:data:`.forward.PARAMS`) and the linear calibration
coefficients c, the Jacobian has the rows ∂m/∂p = ∂T/∂p ⊙ P c and ∂m/∂c_j = T ⊙ P_j. With
W = diag(1/σ²) the Fisher matrix is F = J W Jᵀ; its inverse is the Cramér–Rao bound at the
truth and the covariance of the estimate at the optimum, and the model's per-pixel variance is
the diagonal of Jᵀ F⁻¹ J. The marginal covariance of p alone is the inverse of the Schur
complement S = F_pp − F_pc F_cc⁻¹ F_cp, which is also the Gauss–Newton matrix of the
variable-projection fit (:mod:`.optimize`).
"""

from __future__ import annotations

import torch

from pfsdenoise.tempfit.calibration import LinearFit
from pfsdenoise.tempfit.forward import Templates


def jacobian(templates: Templates, linear: LinearFit, basis: torch.Tensor) -> torch.Tensor:
    """(n, n_params + n_coeff, n_pix) float64: rows for p, then for c."""
    d_p = templates.grad.double() * linear.curve[:, None, :]
    d_c = templates.value.double()[:, None, :] * basis.T[None]
    return torch.cat([d_p, d_c], dim=1)


def fisher_matrix(jac: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """F = J W Jᵀ, (n, k, k)."""
    return (jac * weight[:, None, :]) @ jac.transpose(1, 2)


def schur_complement(fisher: torch.Tensor, n_params: int) -> torch.Tensor:
    """S = F_pp − F_pc F_cc⁻¹ F_cp: the information on p with c marginalized, (n, p, p)."""
    f_pp = fisher[:, :n_params, :n_params]
    f_pc = fisher[:, :n_params, n_params:]
    f_cc = fisher[:, n_params:, n_params:]
    return f_pp - f_pc @ torch.linalg.solve(f_cc, f_pc.transpose(1, 2))


def inverse_pd(matrix: torch.Tensor, free: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of symmetric positive-definite matrices over the ``free`` rows and columns.

    Fixed parameters get zero rows and columns. Returns the inverses and a bool (n,) that is
    False where a matrix is not positive definite (its inverse is then NaN).
    """
    sub = matrix[:, free][:, :, free]
    # equilibrate: the parameters' units differ by orders of magnitude (K, dex, km/s)
    d = torch.sqrt(torch.clamp(torch.diagonal(sub, dim1=1, dim2=2), min=1e-300))
    scaled = sub / d[:, :, None] / d[:, None, :]
    chol, info = torch.linalg.cholesky_ex(scaled)
    ok = info == 0
    inv = torch.full_like(sub, float("nan"))
    if ok.any():
        inv[ok] = torch.cholesky_inverse(chol[ok]) / d[ok][:, :, None] / d[ok][:, None, :]
    out = torch.zeros_like(matrix)
    idx = torch.nonzero(free)[:, 0]
    out[:, idx[:, None], idx[None, :]] = inv
    return out, ok


def model_sigma(jac: torch.Tensor, covariance: torch.Tensor) -> torch.Tensor:
    """Per-pixel 1σ of the model, sqrt(diag(Jᵀ C J)), (n, n_pix)."""
    var = torch.einsum("npi,npq,nqi->ni", jac, covariance, jac)
    return torch.sqrt(torch.clamp(var, min=0.0))
