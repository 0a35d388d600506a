"""Levenberg–Marquardt over the non-linear parameters, the calibration solved at every step.

Variable projection (Golub & Pereyra 1973, with Kaufman's 1975 Jacobian): at each point p the
calibration c(p) is the linear least-squares solution (:mod:`.calibration`), and the step in p
solves (S + λ diag S) δ = g with S the Schur complement of the Fisher matrix (:mod:`.fisher`)
and g = ∂mᵀ/∂p W r. Bounds (grid axes, RV range) are kept by projection: a parameter at a bound
whose gradient points outward is held for that step. A step that raises χ² or lands in a cell
with a missing node is refused and λ grows tenfold; an accepted one shrinks it tenfold.

Termination per spectrum: ``converged`` when the Gauss–Newton step predicts a χ² decrease
below ``chi2_tol`` (a local minimum of the smooth model), or when an accepted step gained less
than ``chi2_tol`` while the predicted gain is below ``kink_gain`` (a minimum on a kink of the
piecewise-polynomial model, where the one-sided Gauss–Newton prediction never vanishes but the
point is within that χ² of the minimum); ``stalled`` when λ passes ``lambda_max`` without an
accepted step (a kink or a bound); ``max_iter`` when the iterations run out first (not
converged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import torch

from pfsdenoise.tempfit.calibration import LinearFit, solve_calibration
from pfsdenoise.tempfit.columns import PARAMS
from pfsdenoise.tempfit.fisher import fisher_matrix, jacobian, schur_complement
from pfsdenoise.tempfit.forward import ForwardModel, Templates

TERMINATIONS = ("converged", "stalled", "max_iter", "invalid_start")
"""How a fit ended; the first two are local minima, the others are not results."""


@dataclass(frozen=True)
class OptimizerSettings:
    """Stopping and damping rules of the Levenberg–Marquardt loop (config ``tempfit.optimizer``)."""

    max_iter: int
    chi2_tol: float
    kink_gain: float
    lambda_init: float
    lambda_max: float

    @classmethod
    def from_config(cls, cfg: Mapping) -> OptimizerSettings:
        """From the config section (keys as the fields; types checked by the schema)."""
        return cls(**{f.name: cfg[f.name] for f in fields(cls)})


@dataclass
class Evaluation:
    """The model of a batch at some parameters: templates, best calibration, χ²."""

    params: np.ndarray
    templates: Templates
    linear: LinearFit
    chi2: np.ndarray  # float64, inf where the cell is incomplete or the solve failed


@dataclass
class Optimum:
    """Where the loop ended for each spectrum."""

    state: Evaluation
    termination: np.ndarray  # str, one of TERMINATIONS
    n_iter: np.ndarray
    n_eval: np.ndarray


def evaluate(
    model: ForwardModel,
    basis: torch.Tensor,
    flux: torch.Tensor,
    weight: torch.Tensor,
    params: np.ndarray,
) -> Evaluation:
    """Templates with gradients, best calibration and χ² at ``params`` (n, 5)."""
    templates = model(params)
    linear = solve_calibration(templates.value, flux, weight, basis)
    chi2 = linear.chi2.cpu().numpy()
    chi2 = np.where(templates.complete & np.isfinite(chi2), chi2, np.inf)
    return Evaluation(params=params, templates=templates, linear=linear, chi2=chi2)


def _take(state: Evaluation, rows: np.ndarray, new: Evaluation, new_rows: np.ndarray) -> None:
    """Overwrite ``rows`` of ``state`` with ``new_rows`` of ``new`` (in place)."""
    r = torch.from_numpy(rows).to(state.linear.coeff.device)
    q = torch.from_numpy(new_rows).to(state.linear.coeff.device)
    state.params[rows] = new.params[new_rows]
    state.chi2[rows] = new.chi2[new_rows]
    state.templates.value[r] = new.templates.value[q]
    state.templates.grad[r] = new.templates.grad[q]
    state.templates.complete[rows] = new.templates.complete[new_rows]
    for name in ("coeff", "curve", "model", "chi2"):
        getattr(state.linear, name)[r] = getattr(new.linear, name)[q]


def subset(state: Evaluation, rows: np.ndarray) -> Evaluation:
    """The rows ``rows`` of an evaluation."""
    r = torch.from_numpy(rows).to(state.linear.coeff.device)
    t = state.templates
    lin = state.linear
    return Evaluation(
        params=state.params[rows],
        templates=Templates(t.value[r], t.grad[r], t.complete[rows]),
        linear=LinearFit(lin.coeff[r], lin.curve[r], lin.model[r], lin.chi2[r]),
        chi2=state.chi2[rows],
    )


def levenberg_marquardt(
    model: ForwardModel,
    basis: torch.Tensor,
    flux: torch.Tensor,
    weight: torch.Tensor,
    start: np.ndarray,
    settings: OptimizerSettings,
) -> Optimum:
    """Minimize χ² from ``start`` (n, 5) for every spectrum of the batch (module docstring)."""
    n_params = len(PARAMS)
    free = np.array([model.upper[d] > model.lower[d] for d in range(n_params)])
    state = evaluate(model, basis, flux, weight, model.clip(np.array(start, dtype=np.float64)))
    n = len(start)
    lam = np.full(n, settings.lambda_init)
    n_iter = np.zeros(n, dtype=np.int64)
    n_eval = np.ones(n, dtype=np.int64)
    termination = np.full(n, "max_iter", dtype=object)
    termination[~np.isfinite(state.chi2)] = "invalid_start"
    active = np.isfinite(state.chi2)
    for _ in range(settings.max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        cur = subset(state, rows)
        r_t = torch.from_numpy(rows).to(flux.device)
        step, predicted = _damped_step(cur, flux[r_t], weight[r_t], basis, lam[rows], free, model)
        done = predicted < settings.chi2_tol
        termination[rows[done]] = "converged"
        active[rows[done]] = False
        go = ~done
        rows, step = rows[go], step[go]
        if rows.size == 0:
            break
        r_t = torch.from_numpy(rows).to(flux.device)
        trial = evaluate(
            model, basis, flux[r_t], weight[r_t], model.clip(state.params[rows] + step)
        )
        n_iter[rows] += 1
        n_eval[rows] += 1
        better = trial.chi2 < state.chi2[rows]
        flat = better & (state.chi2[rows] - trial.chi2 < settings.chi2_tol)
        flat &= predicted[go] < settings.kink_gain
        _take(state, rows[better], trial, np.flatnonzero(better))
        termination[rows[flat]] = "converged"
        active[rows[flat]] = False
        lam[rows[better]] = np.maximum(lam[rows[better]] / 10, 1e-12)
        worse = rows[~better]
        lam[worse] *= 10
        stalled = worse[lam[worse] > settings.lambda_max]
        termination[stalled] = "stalled"
        active[stalled] = False
    return Optimum(state=state, termination=termination, n_iter=n_iter, n_eval=n_eval)


def _damped_step(
    cur: Evaluation,
    flux: torch.Tensor,
    weight: torch.Tensor,
    basis: torch.Tensor,
    lam: np.ndarray,
    free: np.ndarray,
    model: ForwardModel,
) -> tuple[np.ndarray, np.ndarray]:
    """LM step in p for each spectrum, and the χ² decrease its undamped Gauss–Newton step
    predicts (g S⁻¹ g over the parameters not held at a bound)."""
    n_params = len(PARAMS)
    jac = jacobian(cur.templates, cur.linear, basis)
    resid = flux - cur.linear.model
    fisher = fisher_matrix(jac, weight)
    s = schur_complement(fisher, n_params).cpu().numpy()
    g = ((jac[:, :n_params] * weight[:, None, :]) @ resid[:, :, None])[..., 0].cpu().numpy()
    p = cur.params
    outward = ((p <= model.lower) & (g < 0)) | ((p >= model.upper) & (g > 0))
    use = free[None, :] & ~outward
    step = np.zeros_like(p)
    predicted = np.zeros(len(p))
    for i in range(len(p)):
        u = use[i]
        if not u.any():
            continue
        s_u = s[i][np.ix_(u, u)]
        d = np.sqrt(np.maximum(np.diag(s_u), 1e-300))
        a = s_u / np.outer(d, d)  # unit diagonal: the parameters' units cancel
        b = g[i, u] / d
        try:
            gn = np.linalg.solve(a, b)
            predicted[i] = float(b @ gn)
            step[i, u] = np.linalg.solve(a + lam[i] * np.eye(u.sum()), b) / d
        except np.linalg.LinAlgError:
            predicted[i] = np.inf
            step[i, u] = b / (1 + lam[i]) / d
    bad = ~np.isfinite(step).all(axis=1)
    step[bad] = 0.0  # a non-finite Fisher matrix: no step; λ then grows until the fit stalls
    predicted[bad] = np.inf
    return step, predicted
