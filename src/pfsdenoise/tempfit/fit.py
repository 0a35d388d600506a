"""Maximum-likelihood template fits of normalized spectra: inputs checked, scan, optimizer, errors.

:class:`TemplateFitter` fits m = T(θ, v) ⊙ (P c) (:mod:`.forward`, :mod:`.calibration`) to a
batch of spectra with their σ and mask, by minimizing χ² = Σ (y − m)²/σ² over usable pixels:
a global start (:mod:`.scan`) unless one is given, then Levenberg–Marquardt (:mod:`.optimize`).
Each spectrum gets a status; only ``ok`` fits carry parameters, covariance and a model, so a
fit that failed can never be reported as a result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from pfsdenoise.grid.store import Grid, open_grid
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.spectrum import SpectrumArrayError
from pfsdenoise.tempfit.calibration import legendre_basis
from pfsdenoise.tempfit.columns import PARAMS
from pfsdenoise.tempfit.fisher import fisher_matrix, inverse_pd, jacobian, model_sigma
from pfsdenoise.tempfit.forward import ForwardModel, torch_device
from pfsdenoise.tempfit.optimize import OptimizerSettings, evaluate, levenberg_marquardt, subset
from pfsdenoise.tempfit.scan import Scanner, ScanSettings, node_values

STATUSES = {
    "ok": "converged to a local minimum with a positive-definite Fisher matrix",
    "not_converged": "the optimizer ran out of iterations",
    "singular": "converged, but the Fisher matrix is not positive definite",
    "invalid_start": "the start lies in a grid cell with a missing node",
    "no_start": "the given start is not finite (e.g. the fit it came from failed)",
    "outside_grid": "the given start lies outside the grid axes or the RV range",
    "all_masked": "no usable pixel",
    "too_few_pixels": "fewer usable pixels than parameters",
    "bad_sigma": "sigma <= 0 or not finite on an unmasked pixel",
    "bad_flux": "flux not finite on an unmasked pixel",
}
"""Status of a fit and what it means; only ``ok`` is a result."""


@dataclass(frozen=True)
class FitSettings:
    """Config ``tempfit`` (its fitting part): calibration degree, extinction, scan, optimizer."""

    degree: int
    ebv: float
    scan: ScanSettings
    optimizer: OptimizerSettings
    batch_size: int
    device: str

    @classmethod
    def from_config(cls, cfg: Mapping) -> FitSettings:
        return cls(
            degree=int(cfg["calibration_degree"]),
            ebv=float(cfg["ebv"]),
            scan=ScanSettings.from_config(cfg["scan"]),
            optimizer=OptimizerSettings.from_config(cfg["optimizer"]),
            batch_size=int(cfg["batch_size"]),
            device=str(cfg["device"]),
        )


@dataclass
class FitResult:
    """Per-spectrum results of :meth:`TemplateFitter.fit` (NaN wherever ``status`` is not ok)."""

    params: np.ndarray  # (n, 5) in PARAMS order
    covariance: np.ndarray  # (n, 5, 5), calibration marginalized
    chi2: np.ndarray
    dof: np.ndarray  # usable pixels − parameters
    status: np.ndarray  # str, keys of STATUSES
    n_iter: np.ndarray  # optimizer iterations of the chosen start
    n_eval: np.ndarray  # model evaluations over all starts (scan not counted)
    model: np.ndarray  # (n, n_pix) float32, the best-fit spectrum
    model_sigma: np.ndarray  # (n, n_pix) float32, its propagated 1σ
    at_bound: np.ndarray  # (n,) an ok fit with a parameter on the grid's edge or the RV bound

    @property
    def ok(self) -> np.ndarray:
        return self.status == "ok"


class TemplateFitter:
    """Fits spectra on the observer's pixels with the grid's forward model (module docstring)."""

    def __init__(self, grid: Grid, observer: Observer, settings: FitSettings) -> None:
        grid.check_nodes()  # the model and the scan read every node row: verify them once
        self.settings = settings
        self.device = torch_device(settings.device)
        self.model = ForwardModel(
            grid,
            observer,
            ebv=settings.ebv,
            rv_range=settings.scan.rv_range,
            device=settings.device,
        )
        self.n_coeff = settings.degree + 1
        self.basis = torch.from_numpy(legendre_basis(observer.pix_aa, settings.degree)).to(
            self.device
        )
        self.scanner = Scanner(
            grid,
            observer,
            settings.scan,
            settings.degree,
            start_ok=lambda nodes: self.model.complete(node_values(grid, nodes)),
            device=self.device,
        )
        self.observer = observer

    @classmethod
    def from_files(
        cls,
        grid_dir: str | os.PathLike,
        noise_table: str | os.PathLike,
        observe: Mapping,
        settings: FitSettings,
    ) -> TemplateFitter:
        """Build from the grid folder, the noise table and the ``observe`` config section."""
        grid = open_grid(grid_dir)
        observer = Observer(grid.wave, grid.log_step, os.fspath(noise_table), dict(observe))
        return cls(grid, observer, settings)

    @property
    def n_free(self) -> int:
        """Fitted parameters: free grid axes and RV, plus the calibration coefficients."""
        return int((self.model.upper > self.model.lower).sum()) + self.n_coeff

    def fit(
        self,
        flux: np.ndarray,
        sigma: np.ndarray,
        mask: np.ndarray,
        start: np.ndarray | None = None,
    ) -> FitResult:
        """Fit normalized spectra (n, n_pix); ``start`` (n, 5) skips the scan."""
        flux, sigma, mask = self._check_shapes(flux, sigma, mask)
        n = len(flux)
        status = self._input_status(flux, sigma, mask)
        if start is not None:
            start = np.asarray(start, dtype=np.float64).reshape(n, len(PARAMS))
            no_start = ~np.isfinite(start).all(axis=1)
            status[no_start & (status == "ok")] = "no_start"
            tol = 1e-9 * np.maximum(self.model.upper - self.model.lower, 1.0)
            with np.errstate(invalid="ignore"):
                outside = ((start < self.model.lower - tol) | (start > self.model.upper + tol)).any(
                    1
                )
            status[outside & (status == "ok")] = "outside_grid"
        out = _empty_result(n, self.model.n_pix, status)
        rows = np.flatnonzero(status == "ok")
        for s in range(0, rows.size, self.settings.batch_size):
            sl = rows[s : s + self.settings.batch_size]
            self._fit_batch(
                flux[sl], sigma[sl], mask[sl], None if start is None else start[sl], sl, out
            )
        return out

    def fisher_bound(
        self, params: np.ndarray, flux_true: np.ndarray, sigma: np.ndarray, mask: np.ndarray
    ) -> np.ndarray:
        """Cramér–Rao 1σ of each parameter (n, 5) at the true ``params``, calibration marginalized.

        The calibration is the best one for the noiseless ``flux_true``; NaN where the truth's
        cell is incomplete or the input is unusable.
        """
        flux_true, sigma, mask = self._check_shapes(flux_true, sigma, mask)
        status = self._input_status(flux_true, sigma, mask)
        params = self.model.clip(np.asarray(params, dtype=np.float64).reshape(-1, len(PARAMS)))
        out = np.full(params.shape, np.nan)
        rows = np.flatnonzero(status == "ok")
        for s in range(0, rows.size, self.settings.batch_size):
            sl = rows[s : s + self.settings.batch_size]
            y, w = self.tensors(flux_true[sl], sigma[sl], mask[sl])
            state = evaluate(self.model, self.basis, y, w, params[sl])
            cov, ok = self._covariance(state, w)
            var = torch.diagonal(cov[:, : len(PARAMS), : len(PARAMS)], dim1=1, dim2=2).cpu().numpy()
            good = ok & np.isfinite(state.chi2)
            out[sl[good]] = np.sqrt(var[good])
        return out

    def _fit_batch(self, flux, sigma, mask, start, rows, out: FitResult) -> None:
        y, w = self.tensors(flux, sigma, mask)
        starts = self.scanner.starts(y, w) if start is None else start[:, None, :]  # (n, k, 5)
        n, k, _ = starts.shape
        rep = torch.arange(n, device=self.device).repeat_interleave(k)
        opt = levenberg_marquardt(
            self.model,
            self.basis,
            y[rep],
            w[rep],
            starts.reshape(n * k, -1),
            self.settings.optimizer,
        )
        chi2 = opt.state.chi2.reshape(n, k)
        local = np.isin(opt.termination, ("converged", "stalled")).reshape(n, k)
        pick = np.argmin(np.where(local, chi2, np.inf), axis=1)
        chosen = np.arange(n) * k + pick
        any_local = local.any(axis=1)
        term = opt.termination.reshape(n, k)
        status = np.where(
            any_local,
            "ok",
            np.where((term == "invalid_start").all(1), "invalid_start", "not_converged"),
        )
        best = subset(opt.state, chosen)
        cov, pd = self._covariance(best, w)
        status = np.where((status == "ok") & ~pd, "singular", status)
        good = status == "ok"
        jac = jacobian(best.templates, best.linear, self.basis)
        sig = model_sigma(jac, torch.nan_to_num(cov)).float().cpu().numpy()
        model = best.linear.model.float().cpu().numpy()
        cov_p = cov[:, : len(PARAMS), : len(PARAMS)].cpu().numpy()
        r = rows[good]
        out.status[rows] = status
        out.params[r] = best.params[good]
        edge = (best.params <= self.model.lower) | (best.params >= self.model.upper)
        out.at_bound[r] = (edge & (self.model.upper > self.model.lower)).any(axis=1)[good]
        out.covariance[r] = cov_p[good]
        out.chi2[r] = best.chi2[good]
        out.model[r] = model[good]
        out.model_sigma[r] = sig[good]
        out.n_iter[rows] = opt.n_iter[chosen]
        out.n_eval[rows] = opt.n_eval.reshape(n, k).sum(axis=1)
        usable = (w > 0).sum(dim=1).cpu().numpy()
        out.dof[rows] = usable - self.n_free

    def _covariance(self, state, w: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """Full covariance (parameters, then calibration) at ``state``, and where it exists."""
        jac = jacobian(state.templates, state.linear, self.basis)
        fisher = fisher_matrix(jac, w)
        free = torch.from_numpy(
            np.concatenate([self.model.upper > self.model.lower, np.ones(self.n_coeff, bool)])
        ).to(self.device)
        cov, ok = inverse_pd(fisher, free)
        return cov, ok.cpu().numpy()

    def tensors(self, flux, sigma, mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Flux (0 where unusable) and weight 1/σ² (0 where unusable) as float64 tensors."""
        usable = ~mask
        with np.errstate(divide="ignore"):
            weight = np.where(usable, 1.0 / np.where(usable, sigma, 1.0) ** 2, 0.0)
        y = np.where(usable, flux, 0.0)
        return (
            torch.from_numpy(y.astype(np.float64)).to(self.device),
            torch.from_numpy(weight.astype(np.float64)).to(self.device),
        )

    def _check_shapes(self, flux, sigma, mask):
        flux = np.atleast_2d(np.asarray(flux, dtype=np.float64))
        sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
        mask = np.atleast_2d(np.asarray(mask, dtype=bool))
        if (
            flux.shape != sigma.shape
            or flux.shape != mask.shape
            or flux.shape[1] != self.model.n_pix
        ):
            raise SpectrumArrayError(
                f"flux {flux.shape}, sigma {sigma.shape}, mask {mask.shape}: expected three "
                f"(n, {self.model.n_pix}) arrays on the MR arm's pixels"
            )
        return flux, sigma, mask

    def _input_status(self, flux, sigma, mask) -> np.ndarray:
        usable = ~mask
        with np.errstate(invalid="ignore"):
            bad_sigma = (usable & ~(np.isfinite(sigma) & (sigma > 0))).any(axis=1)
        bad_flux = (usable & ~np.isfinite(flux)).any(axis=1)
        count = usable.sum(axis=1)
        status = np.full(len(flux), "ok", dtype=object)
        status[count <= self.n_free] = "too_few_pixels"
        status[count == 0] = "all_masked"
        status[bad_flux & (count > 0)] = "bad_flux"
        status[bad_sigma & (count > 0)] = "bad_sigma"
        return status


def _empty_result(n: int, n_pix: int, status: np.ndarray) -> FitResult:
    p = len(PARAMS)
    return FitResult(
        params=np.full((n, p), np.nan),
        covariance=np.full((n, p, p), np.nan),
        chi2=np.full(n, np.nan),
        dof=np.zeros(n, dtype=np.int64),
        status=status,
        n_iter=np.zeros(n, dtype=np.int64),
        n_eval=np.zeros(n, dtype=np.int64),
        model=np.full((n, n_pix), np.nan, dtype=np.float32),
        model_sigma=np.full((n, n_pix), np.nan, dtype=np.float32),
        at_bound=np.zeros(n, dtype=bool),
    )
