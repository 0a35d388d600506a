"""The simulator's forward model as a differentiable, batched torch operator.

T(θ, v) = E ⊙ L · D(v) · Σ_k w_k(θ) F_k

with F_k the grid's node spectra, w_k(θ) the multilinear weights of the 2⁴ corners of θ's cell
(:func:`pfsdenoise.grid.corner_weights`), D(v) the Doppler shift on the log-uniform grid (linear
interpolation between samples, :func:`pfsdenoise.observe.doppler_torch.doppler_shift`), L the observe
step's sparse LSF ⊗ pixel matrix and E = 10^(−0.4 E(B−V) A_λ) its extinction curve on the
pixels. Every operator is the :class:`~pfsdenoise.observe.Observer`'s own, so T is the noiseless
spectrum the simulator makes, up to its flux scale (magnitude and normalization are constants
per spectrum, absorbed by the calibration curve of :mod:`.calibration`).

T is linear in the node spectra and piecewise polynomial in θ and v (multilinear inside a cell,
linear between two integer sample shifts), so its Jacobian is analytic: the corner-weight
gradients for θ and the difference of neighbouring samples for v.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from pfsdenoise.constants import C_KMS, STELLAR_AXES
from pfsdenoise.grid.interpolate import corner_weights
from pfsdenoise.grid.store import Grid
from pfsdenoise.observe.doppler_torch import doppler_shift
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.observe.star import doppler_samples


def torch_device(device: str) -> torch.device:
    """``auto``: CUDA when present, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def sparse_rows(matrix, device: torch.device) -> torch.Tensor:
    """A scipy CSR matrix as a float32 torch sparse CSR tensor on ``device``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)),
            size=matrix.shape,
            check_invariants=True,
        ).to(device)


@dataclass
class Templates:
    """Model spectra of a batch on the pixels, before the calibration curve."""

    value: torch.Tensor  # (n, n_pix)
    grad: torch.Tensor | None  # (n, len(PARAMS), n_pix), per parameter unit (K, dex, km/s)
    complete: np.ndarray  # (n,) False where θ's cell touches a missing grid node


class ForwardModel:
    """T(θ, v) and its Jacobian for batches of parameters (see the module docstring).

    Parameters
    ----------
    grid
        The model grid the spectra were simulated from.
    observer
        The observe step built on that grid (its LSF ⊗ pixel matrix and extinction curve).
    ebv
        E(B−V) of the extinction applied to every model [mag].
    rv_range
        Velocities the model must reach [km/s]: the grid is cropped to what they need.
    device
        torch device of the arrays (``auto``: CUDA when present).
    """

    def __init__(
        self,
        grid: Grid,
        observer: Observer,
        *,
        ebv: float,
        rv_range: tuple[float, float],
        device: str = "cpu",
    ) -> None:
        self.grid = grid
        self.device = torch_device(device)
        self.log_step = float(grid.log_step)
        self.rv_range = (float(rv_range[0]), float(rv_range[1]))
        observer.check_rv(np.asarray(self.rv_range))
        used = np.flatnonzero(np.diff(observer.matrix.tocsc().indptr))
        reach = int(
            np.ceil(np.abs(doppler_samples(self.rv_range, self.log_step, grid.n_wave)).max())
        )
        lo = max(int(used[0]) - reach - 2, 0)
        hi = min(int(used[-1]) + reach + 3, grid.n_wave)
        self.window = slice(lo, hi)
        self.n_wave = hi - lo
        self.matrix = sparse_rows(observer.matrix[:, lo:hi].tocsr(), self.device)
        rows = np.nan_to_num(np.asarray(grid.flux_rows()[:, lo:hi], dtype=np.float32), nan=0.0)
        valid = grid.valid.reshape(-1)
        # one constant for all nodes (keeps T ~ 1; per-node factors would change the interpolant)
        self.scale = float(np.median(rows[valid].mean(axis=1)))
        self.nodes = torch.from_numpy(rows / self.scale).to(self.device)
        self.valid = valid
        ext = 10 ** (-0.4 * float(ebv) * observer.pix_ext)
        self.extinction = torch.from_numpy(ext.astype(np.float32)).to(self.device)
        self.wave = observer.pix_aa
        self.n_pix = self.wave.size
        self.lower = np.array([grid.axes[a][0] for a in STELLAR_AXES] + [self.rv_range[0]])
        self.upper = np.array([grid.axes[a][-1] for a in STELLAR_AXES] + [self.rv_range[1]])

    def clip(self, params: np.ndarray) -> np.ndarray:
        """Parameters moved inside the fit's bounds (grid axes, ``rv_range``)."""
        return np.clip(params, self.lower, self.upper)

    def complete(self, stellar: np.ndarray) -> np.ndarray:
        """(n,) True where every corner of the cell (value and gradient) is a grid node."""
        index, _, _ = corner_weights(self.grid, stellar)
        return self.valid[index].all(axis=1)

    def __call__(self, params: np.ndarray, *, gradient: bool = True) -> Templates:
        """Templates at ``params`` (n, 5) in :data:`PARAMS` order, with their Jacobian."""
        params = np.asarray(params, dtype=np.float64)
        n = len(params)
        index, weights, grad = corner_weights(self.grid, params[:, :4])
        complete = self.valid[index].all(axis=1)
        coeff = weights[:, None] if not gradient else np.concatenate([weights[:, None], grad], 1)
        k = coeff.shape[1]  # value (and the 4 stellar derivatives) per spectrum
        high = self._interpolate(index, coeff).reshape(n, k, self.n_wave)
        shift = torch.from_numpy(doppler_samples(params[:, 4], self.log_step, self.grid.n_wave))
        rows = doppler_shift(high, shift.to(self.device))
        if gradient:  # d/d(samples) of the value: the difference of the neighbouring shifts
            whole = torch.floor(shift).to(self.device)
            value = high[:, :1]
            step = doppler_shift(value, whole + 1) - doppler_shift(value, whole)
            dv = 1.0 / (self.log_step * (C_KMS + params[:, 4]))  # d(samples)/d(rv)
            step *= torch.from_numpy(dv.astype(np.float32)).to(self.device)[:, None, None]
            rows = torch.cat([rows, step], dim=1)
        k = rows.shape[1]
        pix = (self.matrix @ rows.reshape(n * k, self.n_wave).T).T.reshape(n, k, self.n_pix)
        pix = pix * self.extinction
        return Templates(value=pix[:, 0], grad=pix[:, 1:] if gradient else None, complete=complete)

    def _interpolate(self, index: np.ndarray, coeff: np.ndarray) -> torch.Tensor:
        """Σ_corners coeff · node rows for each spectrum and coefficient row, (n·k, n_wave), as
        one sparse product (the node rows are read once each, no per-corner copy)."""
        n, k, c = coeff.shape
        rows = np.repeat(np.arange(n * k), c)
        cols = np.repeat(index, k, axis=0).reshape(-1)
        weights = torch.sparse_coo_tensor(
            torch.from_numpy(np.stack([rows, cols])),
            torch.from_numpy(coeff.reshape(-1).astype(np.float32)),
            (n * k, self.nodes.shape[0]),
            check_invariants=True,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            weights = weights.coalesce().to_sparse_csr().to(self.device)
            return weights @ self.nodes
