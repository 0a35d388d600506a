"""The global start of a fit: a velocity scan by FFT, then a scan of the grid nodes.

Both stages use rest-frame node spectra put through the observe step's LSF ⊗ pixel operator on
an arm extended by the largest shift (:func:`pfsdenoise.observe.lsf.grid_pixel_matrix` with the
same instrument and kernel model), and shift after pixelization. That approximation (the
LSF changes little over a shift) is only used to find where the exact fit starts.

1. **Velocity.** On a log-uniform resampling of the data (step = ``rv_step``) a shift is a lag,
   and for every lag the calibrated χ² of a template is Σwy² − bᵀA⁻¹b with
   b_j = Σ w y P_j T(u − ℓ) and A_jk = Σ w P_j P_k T²(u − ℓ): cross-correlations, so one FFT
   per term gives every lag at once (P_j P_k is a Legendre series up to degree 2·deg). The
   ``rv_candidates`` deepest minima of the best template's χ²(lag), one LSF width apart, are
   refined by a parabola through their neighbours.
2. **Nodes.** At each candidate velocity, the calibrated χ² of every scan node, with the
   template interpolated linearly at λ/(1+z); the sums are rearranged so that all nodes,
   spectra and candidates take three matrix products (:meth:`Scanner._spread`). The
   ``n_starts`` best (node, velocity) pairs start the local optimizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import torch
from numpy.polynomial import legendre

from pfsdenoise.constants import C_KMS, STELLAR_AXES
from pfsdenoise.grid.store import Grid
from pfsdenoise.observe.lsf import KernelTable, grid_pixel_matrix
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.tempfit.calibration import legendre_basis


@dataclasses.dataclass(frozen=True)
class ScanSettings:
    """Config ``tempfit.scan``: velocity range and step, template and node choice, starts."""

    rv_range: tuple[float, float]
    rv_step: float
    rv_templates: Mapping[str, list[float]]
    node_stride: Mapping[str, int]
    rv_candidates: int
    n_starts: int

    @classmethod
    def from_config(cls, cfg: Mapping) -> ScanSettings:
        return cls(
            rv_range=(float(cfg["rv_range"][0]), float(cfg["rv_range"][1])),
            rv_step=float(cfg["rv_step"]),
            rv_templates={k: list(v) for k, v in cfg["rv_templates"].items()},
            node_stride={k: int(v) for k, v in cfg["node_stride"].items()},
            rv_candidates=int(cfg["rv_candidates"]),
            n_starts=int(cfg["n_starts"]),
        )


def stride_nodes(grid: Grid, stride: Mapping[str, int]) -> np.ndarray:
    """Multi-indices (m, 4) of every ``stride``-th node per axis, both ends always included."""
    picks = []
    for a in grid.axis_names:
        n = len(grid.axes[a])
        k = max(int(stride.get(a, 1)), 1)
        picks.append(np.unique(np.round(np.linspace(0, n - 1, -(-(n - 1) // k) + 1)).astype(int)))
    mesh = np.meshgrid(*picks, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def node_values(grid: Grid, nodes: np.ndarray) -> np.ndarray:
    """Parameter values (m, 4) of node multi-indices (m, 4)."""
    return np.column_stack([grid.axes[a][nodes[:, d]] for d, a in enumerate(grid.axis_names)])


def nearest_nodes(grid: Grid, values: Mapping[str, list[float]]) -> np.ndarray:
    """Multi-indices (m, 4) of the nodes nearest to every combination of ``values``."""
    picks = []
    for a in grid.axis_names:
        axis = grid.axes[a]
        wanted = values.get(a, [axis[len(axis) // 2]])
        picks.append(np.unique([int(np.abs(axis - v).argmin()) for v in wanted]))
    mesh = np.meshgrid(*picks, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def _legendre_products(degree: int) -> np.ndarray:
    """coef[j, k, l]: P_j P_k = Σ_l coef[j, k, l] P_l (l ≤ 2·degree)."""
    n = degree + 1
    out = np.zeros((n, n, 2 * degree + 1))
    for j in range(n):
        for k in range(n):
            prod = legendre.legmul(np.eye(n)[j], np.eye(n)[k])
            out[j, k, : prod.size] = prod
    return out


class Scanner:
    """Precomputed scan templates of one grid and observer (see the module docstring).

    ``start_ok(multi_index)`` says which nodes may start the optimizer (their cell is complete).
    """

    def __init__(
        self,
        grid: Grid,
        observer: Observer,
        settings: ScanSettings,
        degree: int,
        start_ok,
        device: torch.device,
    ) -> None:
        self.settings = settings
        self.device = device
        self.degree = degree
        inst = observer.inst
        z_max = max(abs(v) for v in settings.rv_range) / C_KMS
        half = observer.kernel.half_width
        extra = int(np.ceil(z_max * inst.wave_max_nm / inst.dl_nm)) + half + 2
        ext = dataclasses.replace(
            inst,
            wave_min_nm=inst.wave_min_nm - extra * inst.dl_nm,
            wave_max_nm=inst.wave_max_nm + extra * inst.dl_nm,
            n_pix=inst.n_pix + 2 * extra,
        )
        self.ext_wave = ext.pixel_centres_nm() * 10
        self.dl_aa = inst.dl_nm * 10
        matrix_t = grid_pixel_matrix(ext, KernelTable(ext, half), grid.wave, grid.log_step).T
        matrix_t = matrix_t.tocsr().astype(np.float32)
        nodes = stride_nodes(grid, settings.node_stride)
        flat = np.ravel_multi_index(nodes.T, grid.shape)
        keep = grid.valid.reshape(-1)[flat] & start_ok(nodes)
        if not keep.any():
            raise ValueError(
                f"grid {grid.path}: no node of tempfit.scan.node_stride can start a fit"
            )
        self.node_params = node_values(grid, nodes[keep])
        self.node_templates = self._pixelize(grid, flat[keep], matrix_t)  # (nodes, n_ext)
        self.node_sq = self.node_templates**2
        self.node_cross = self.node_templates * torch.roll(self.node_templates, -1, dims=1)
        rv_nodes = nearest_nodes(grid, settings.rv_templates)
        rv_flat = np.ravel_multi_index(rv_nodes.T, grid.shape)
        rv_flat = rv_flat[grid.valid.reshape(-1)[rv_flat]]
        if rv_flat.size == 0:
            raise ValueError(f"grid {grid.path}: tempfit.scan.rv_templates are all missing nodes")
        self._setup_fft(self._pixelize(grid, rv_flat, matrix_t), observer.pix_aa)
        self.products = torch.from_numpy(_legendre_products(degree)).to(device)
        basis = legendre_basis(observer.pix_aa, 2 * degree).T.astype(np.float32)
        self.basis = torch.from_numpy(basis.copy()).to(device)
        mid = 0.5 * (inst.wave_min_nm + inst.wave_max_nm)
        self.exclusion = observer.kernel.fwhm_pix(mid) * inst.dl_nm / mid * C_KMS  # km/s
        self.pix_aa = observer.pix_aa

    def _pixelize(self, grid: Grid, flat: np.ndarray, matrix_t) -> torch.Tensor:
        """Rest-frame templates on the extended arm, each scaled to unit mean."""
        rows = np.asarray(grid.flux_rows()[np.sort(flat)], dtype=np.float32)
        order = np.argsort(np.argsort(flat))
        pix = np.asarray(rows @ matrix_t)[order]
        return torch.from_numpy(pix / pix.mean(axis=1, keepdims=True)).to(self.device)

    def _setup_fft(self, templates: torch.Tensor, pix_aa: np.ndarray) -> None:
        s = self.settings
        du = np.log1p(s.rv_step / C_KMS)
        u0 = np.log(pix_aa[0])
        n_log = int(np.floor((np.log(pix_aa[-1]) - u0) / du)) + 1
        lags = np.log1p(np.asarray(s.rv_range) / C_KMS) / du
        self.lag_min, self.lag_max = int(np.ceil(lags[0])), int(np.floor(lags[1]))
        reach = max(abs(self.lag_min), abs(self.lag_max))
        self.reach = reach
        lam = np.exp(u0 + du * np.arange(n_log))
        self.log_index = torch.from_numpy(
            np.clip(np.round((lam - pix_aa[0]) / self.dl_aa), 0, pix_aa.size - 1).astype(np.int64)
        ).to(self.device)
        self.log_factor = torch.from_numpy(du * lam / self.dl_aa).to(self.device)  # pixels/sample
        basis = legendre_basis(lam, 2 * self.degree, span=pix_aa)
        self.log_basis = torch.from_numpy(basis.T.copy()).to(self.device)
        lam_t = np.exp(u0 + du * (np.arange(n_log + 2 * reach) - reach))
        t = np.array([np.interp(lam_t, self.ext_wave, row) for row in templates.cpu().numpy()])
        self.n_fft = int(2 ** np.ceil(np.log2(n_log + 2 * reach + 1)))
        tt = torch.from_numpy(t).to(self.device)
        self.fft_t = torch.fft.rfft(tt, self.n_fft)
        self.fft_t2 = torch.fft.rfft(tt**2, self.n_fft)
        self.n_log = n_log
        self.du = du

    def candidate_rvs(self, flux: torch.Tensor, weight: torch.Tensor) -> np.ndarray:
        """(n, rv_candidates) velocities [km/s] of the deepest χ² minima over the RV range."""
        return np.concatenate(
            [self._candidates(flux[i : i + 1], weight[i : i + 1]) for i in range(len(flux))]
        )

    def _candidates(self, flux: torch.Tensor, weight: torch.Tensor) -> np.ndarray:
        """:meth:`candidate_rvs` of a few spectra (the FFT arrays grow with the batch)."""
        deg = self.degree
        y = flux[:, self.log_index]
        w = weight[:, self.log_index] * self.log_factor
        wy = w * y
        terms = torch.cat(
            [
                wy[:, None, :] * self.log_basis[None, : deg + 1],
                w[:, None, :] * self.log_basis[None],
            ],
            dim=1,
        )  # (n, (deg+1) + (2deg+1), n_log)
        fa = torch.conj(torch.fft.rfft(terms, self.n_fft))
        k0, k1 = self.reach - self.lag_max, self.reach - self.lag_min  # lag ℓ = reach − k
        b = torch.fft.irfft(fa[:, None, : deg + 1] * self.fft_t[None, :, None], self.n_fft)
        q = torch.fft.irfft(fa[:, None, deg + 1 :] * self.fft_t2[None, :, None], self.n_fft)
        b = b[..., k0 : k1 + 1]  # (n, n_templates, deg+1, n_lag)
        q = q[..., k0 : k1 + 1]
        a = torch.einsum("jkl,ntlm->ntmjk", self.products, q)
        chi2 = (wy * y).sum(dim=1)[:, None, None] - _quad_form(a, b.permute(0, 1, 3, 2))
        best = chi2.min(dim=1).values.cpu().numpy()  # (n, n_lag), lag ℓ = lag_max − index
        lag = self.lag_max - np.arange(best.shape[1])
        return np.array([self._minima(row, lag) for row in best])

    def _minima(self, chi2: np.ndarray, lag: np.ndarray) -> np.ndarray:
        """The deepest minima of χ²(lag), refined by a parabola, as velocities."""
        chi2 = np.where(np.isfinite(chi2), chi2, np.inf)
        free = np.ones(chi2.size, dtype=bool)
        width = max(int(np.ceil(self.exclusion / self.settings.rv_step)), 1)
        out = []
        for _ in range(self.settings.rv_candidates):
            if not free.any():
                out.append(out[-1])
                continue
            i = int(np.argmin(np.where(free, chi2, np.inf)))
            shift = 0.0
            if 0 < i < chi2.size - 1 and np.isfinite(chi2[i - 1 : i + 2]).all():
                curv = chi2[i - 1] - 2 * chi2[i] + chi2[i + 1]
                if curv > 0:
                    shift = float(np.clip(0.5 * (chi2[i + 1] - chi2[i - 1]) / curv, -0.5, 0.5))
            ell = lag[i] - shift  # lag decreases with the index
            out.append(C_KMS * np.expm1(ell * self.du))
            free[max(i - width, 0) : i + width + 1] = False
        lo, hi = self.settings.rv_range
        return np.clip(np.array(out), lo, hi)

    def starts(self, flux: torch.Tensor, weight: torch.Tensor) -> np.ndarray:
        """(n, n_starts, 5) starting parameters: the best (node, velocity) pairs."""
        rvs = self.candidate_rvs(flux, weight)  # (n, k)
        n, k = rvs.shape
        deg = self.degree
        u1, u2, u3 = self._spread(flux, weight, rvs)
        # float32 products for all spectra and candidates at once: ranking nodes needs far less
        # than the optimizer's precision
        b = (self.node_templates @ u1).reshape(-1, n * k, deg + 1).transpose(0, 1)
        q = self.node_sq @ u2 + self.node_cross @ u3  # (nodes, n·k·(2deg+1))
        q = q.reshape(-1, n * k, 2 * deg + 1).permute(1, 2, 0)
        a = torch.einsum("jkl,cln->cnjk", self.products, q.double())
        total = (weight * flux**2).sum(dim=1).repeat_interleave(k)
        chi2 = (total[:, None] - _quad_form(a, b.double())).reshape(n, k, -1).cpu().numpy()
        chi2 = np.where(np.isfinite(chi2), chi2, np.inf)
        out = np.empty((n, self.settings.n_starts, len(STELLAR_AXES) + 1))
        for i in range(n):
            best = np.argsort(chi2[i], axis=None)[: self.settings.n_starts]
            c, node = np.unravel_index(best, chi2[i].shape)
            out[i, : len(best), :4] = self.node_params[node]
            out[i, : len(best), 4] = rvs[i, c]
            out[i, len(best) :] = out[i, len(best) - 1]
        return out

    def _spread(
        self, flux: torch.Tensor, weight: torch.Tensor, rvs: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The data-side vectors of the node scan on the extended arm's pixels.

        With the template at pixel i interpolated as (1 − f) T_j + f T_{j+1} (j, f from
        λ_i/(1+z)), Σ_i v_i T(λ_i/(1+z)) = T · u1 and Σ_i v_i T(λ_i/(1+z))² = T² · u2 + T_jT_{j+1}
        · u3, with u1, u2, u3 the v_i spread onto j and j+1 by the interpolation weights: the
        same sums as shifting every template, in three matrix products. Columns: (n·k) blocks of
        w y P_0…P_deg (u1) and of w P_0…P_2deg (u2, u3), float32.
        """
        n, k = rvs.shape
        deg = self.degree
        pos = self.pix_aa[None, None, :] / (1 + rvs[:, :, None] / C_KMS) - self.ext_wave[0]
        pos = pos / self.dl_aa
        j = np.clip(np.floor(pos).astype(np.int64), 0, self.ext_wave.size - 2).reshape(n * k, -1)
        f = torch.from_numpy((pos.reshape(n * k, -1) - j).astype(np.float32)).to(self.device)
        j = torch.from_numpy(j).to(self.device)
        w = weight.float().repeat_interleave(k, dim=0)  # (n·k, n_pix)
        wy = w * flux.float().repeat_interleave(k, dim=0)
        basis = self.basis  # (2deg+1, n_pix), float32
        v1 = wy[:, None, :] * basis[None, : deg + 1]  # (n·k, deg+1, n_pix)
        v2 = w[:, None, :] * basis[None]  # (n·k, 2deg+1, n_pix)
        n_ext = self.ext_wave.size

        def spread(v: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor | None) -> torch.Tensor:
            out = torch.zeros(v.shape[0], v.shape[1], n_ext, device=self.device)
            idx = j[:, None, :].expand_as(v)
            out.scatter_add_(2, idx, v * lo[:, None, :])
            if hi is not None:
                out.scatter_add_(2, idx + 1, v * hi[:, None, :])
            return out.permute(2, 0, 1).reshape(n_ext, -1)  # (n_ext, n·k·terms)

        g = 1 - f
        return spread(v1, g, f), spread(v2, g * g, f * f), spread(v2, 2 * f * g, None)


def _quad_form(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """bᵀ A⁻¹ b over batches of small SPD matrices; −inf where A is not positive definite."""
    chol, info = torch.linalg.cholesky_ex(a)
    sol = torch.cholesky_solve(b[..., None], chol)[..., 0]
    out = (b * sol).sum(dim=-1)
    return torch.where(info == 0, out, torch.full_like(out, -np.inf))
