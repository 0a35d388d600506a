"""Interpolation in a spectral grid: multilinear (exact at nodes) and the authors' spline mode.

Both modes reduce a batch of parameter vectors to a sparse (n, n_nodes) weight matrix; the
spectra are then one sparse-times-dense product against the memory-mapped (n_nodes, n_wave)
flux. That touches each needed node row once per sample, with no (n, 16, n_wave) temporary:
the hot loop of the simulator is bound by reading grid rows, not by Python.

A sample whose weights reach a missing node (``grid.valid`` False) is *incomplete*: the
sampler redraws it (:func:`complete_cells`), and :func:`interpolate` refuses it by default.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import CubicSpline

from pfsdenoise.blas import one_thread
from pfsdenoise.grid.store import Grid

OnHole = Literal["raise", "nan"]
# Parameters this far outside an axis (relative to its span, or absolute for a 1-node axis)
# are still taken as on the edge: float round-off of sampled values must not raise.
EDGE_TOLERANCE = 1e-9


class OutOfGridError(ValueError):
    """A requested parameter lies outside the grid's axis range."""


class GridHoleError(ValueError):
    """A requested parameter needs a missing grid node (see ``complete_cells``)."""


def _as_params(grid: Grid, params: np.ndarray) -> np.ndarray:
    params = np.atleast_2d(np.array(params, dtype=np.float64))  # a copy: clipped below
    n_axes = len(grid.axis_names)
    if params.ndim != 2 or params.shape[1] != n_axes:
        raise ValueError(
            f"params must have shape (n, {n_axes}) {grid.axis_names}, got {params.shape}"
        )
    for d, name in enumerate(grid.axis_names):
        axis = grid.axes[name]
        x = params[:, d]
        tol = EDGE_TOLERANCE * max(axis[-1] - axis[0], 1.0)
        bad = ~np.isfinite(x) | (x < axis[0] - tol) | (x > axis[-1] + tol)
        if bad.any():
            raise OutOfGridError(
                f"{name} = {float(x[bad][0]):g} is outside the grid range "
                f"[{axis[0]:g}, {axis[-1]:g}] "
                f"({int(bad.sum())} of {len(x)} samples); restrict the sampling range of {name!r}"
            )
        params[:, d] = np.clip(x, axis[0], axis[-1])
    return params


def cell_position(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower node index, upper node index and fractional position of each x in its cell.

    A value on an inner node lies at t = 0 of the cell above it (the last node: t = 1 of the
    last cell), so derivatives taken in that cell are one-sided.
    """
    if len(axis) == 1:
        zero = np.zeros(len(x), dtype=np.int64)
        return zero, zero, np.zeros(len(x))
    lo = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, len(axis) - 2)
    t = (x - axis[lo]) / (axis[lo + 1] - axis[lo])
    return lo, lo + 1, t


def _finish(
    grid: Grid, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n: int
) -> tuple[sp.csr_array, np.ndarray]:
    keep = weights != 0
    rows, cols, weights = rows[keep], cols[keep], weights[keep]
    matrix = sp.csr_array(
        (weights.astype(np.float32), (rows, cols)), shape=(n, int(np.prod(grid.shape)))
    )
    matrix.sum_duplicates()
    complete = np.ones(n, dtype=bool)
    complete[rows[~grid.valid.reshape(-1)[cols]]] = False
    return matrix, complete


def corner_weights(grid: Grid, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2^d corners of each sample's cell with their multilinear weights and gradients.

    Returns flat node indices (n, 2^d), weights (n, 2^d) (rows sum to 1) and the derivatives of
    the weights with respect to each parameter (n, d, 2^d), in the parameter's own unit: the
    interpolated spectrum's gradient is ``grad @ node_rows``. Inside a cell the interpolant is a
    polynomial, so these are exact; on a node they are one-sided (see :func:`cell_position`).
    """
    params = _as_params(grid, params)
    n, n_axes = params.shape
    cells = []
    for d, a in enumerate(grid.axis_names):
        axis = grid.axes[a]
        lo, hi, t = cell_position(axis, params[:, d])
        width = axis[hi] - axis[lo]
        slope = np.divide(1.0, width, out=np.zeros(n), where=width > 0)  # 1-node axis: flat
        cells.append((lo, hi, t, slope))
    index = np.empty((n, 2**n_axes), dtype=np.int64)
    weights = np.ones((n, 2**n_axes))
    grad = np.ones((n, n_axes, 2**n_axes))
    for corner in range(2**n_axes):
        nodes = []
        for d, (lo, hi, t, slope) in enumerate(cells):
            upper = (corner >> d) & 1
            nodes.append(hi if upper else lo)
            factor = t if upper else 1.0 - t
            weights[:, corner] *= factor
            grad[:, :d, corner] *= factor[:, None]
            grad[:, d + 1 :, corner] *= factor[:, None]
            grad[:, d, corner] *= slope if upper else -slope
        index[:, corner] = np.ravel_multi_index(nodes, grid.shape)
    return index, weights, grad


def linear_weights(grid: Grid, params: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Multilinear weights over the 2^4 corners of each sample's cell, and completeness.

    Returns a sparse (n, n_nodes) matrix (rows sum to 1, only non-zero weights stored, so a
    sample on a node has a single weight 1 and is reproduced exactly) and a bool (n,) array,
    False where a corner with non-zero weight is a missing node.
    """
    index, weights, _ = corner_weights(grid, params)
    n, n_corners = index.shape
    rows = np.repeat(np.arange(n), n_corners)
    return _finish(grid, rows, index.reshape(-1), weights.reshape(-1), n)


def spline_weights(
    grid: Grid, params: np.ndarray, rng: np.random.Generator
) -> tuple[sp.csr_array, np.ndarray]:
    """The authors' mode: a cubic spline along one randomly chosen axis, others at the nearest node.

    For each sample one axis with more than one node is drawn uniformly; the other parameters
    snap to their nearest node; along the chosen axis a not-a-knot cubic spline through the
    contiguous run of valid nodes around the sample gives the weights (a spline is linear in its
    data, so its weights are the spline of the identity). Incomplete where the sample's cell
    on that axis, or the snapped node, is missing.
    """
    params = _as_params(grid, params)
    n = len(params)
    free = [d for d, a in enumerate(grid.axis_names) if len(grid.axes[a]) > 1]
    if not free:
        raise ValueError("spline interpolation needs an axis with more than one node")
    chosen = np.asarray(free)[rng.integers(0, len(free), size=n)]
    nearest = np.stack(
        [
            np.abs(grid.axes[a][None, :] - params[:, [d]]).argmin(axis=1)
            for d, a in enumerate(grid.axis_names)
        ],
        axis=1,
    )
    rows, cols, weights = [], [], []
    complete = np.ones(n, dtype=bool)
    basis_cache: dict[tuple[int, int, int], CubicSpline] = {}
    for i in range(n):
        k = int(chosen[i])
        axis = grid.axes[grid.axis_names[k]]
        index = list(nearest[i])
        index[k] = slice(None)
        line_valid = grid.valid[tuple(index)]
        lo, hi, t = (v[0] for v in cell_position(axis, params[i, [k]]))
        if not (line_valid[lo] and line_valid[hi]):
            complete[i] = False
            start, stop = lo, hi + 1  # weights below then reach a missing node
        else:
            start, stop = lo, hi + 1
            while start > 0 and line_valid[start - 1]:
                start -= 1
            while stop < len(axis) and line_valid[stop]:
                stop += 1
        key = (k, start, stop)
        if key not in basis_cache:
            m = stop - start
            basis_cache[key] = CubicSpline(axis[start:stop], np.eye(m), axis=0) if m > 2 else None
        spline = basis_cache[key]
        if spline is None:  # two nodes: the spline is the straight line
            w = np.array([1.0 - t, t]) if stop - start == 2 else np.array([1.0])
        else:
            w = spline(params[i, k])
        node_idx = np.array([[*index[:k], j, *index[k + 1 :]] for j in range(start, stop)]).T
        rows.append(np.full(stop - start, i))
        cols.append(np.ravel_multi_index(tuple(node_idx), grid.shape))
        weights.append(w)
    matrix, reached = _finish(
        grid, np.concatenate(rows), np.concatenate(cols), np.concatenate(weights), n
    )
    return matrix, complete & reached


def complete_cells(
    grid: Grid,
    params: np.ndarray,
    *,
    mode: Literal["linear", "spline"] = "linear",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Bool (n,): True where interpolation at ``params`` uses only valid nodes.

    Samples outside the grid raise :class:`OutOfGridError`. For ``mode="spline"`` pass the same
    ``rng`` state the interpolation will use (the chosen axis is random).
    """
    if mode == "linear":
        return linear_weights(grid, params)[1]
    return spline_weights(grid, params, rng if rng is not None else np.random.default_rng())[1]


def require_complete(grid: Grid, complete: np.ndarray) -> None:
    """:class:`GridHoleError` naming the samples whose weights reach a missing node."""
    if not complete.all():
        bad = int(np.flatnonzero(~complete)[0])
        raise GridHoleError(
            f"{int((~complete).sum())} of {len(complete)} samples (first: row {bad}) need a "
            f"missing node of grid {grid.path}; redraw them where complete_cells() is False"
        )


def apply_weights(
    grid: Grid,
    matrix: sp.csr_array,
    complete: np.ndarray,
    *,
    array: Literal["flux", "continuum"] = "flux",
    on_hole: OnHole = "raise",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Spectra = weights @ node rows; incomplete rows raise or become NaN (``on_hole``).
    ``out``: a float32 (n, n_wave) array to write into (see :func:`weighted_rows`)."""
    if on_hole == "raise":
        require_complete(grid, complete)
    data = grid.flux if array == "flux" else grid.continuum
    if data is None:
        raise ValueError(f"grid {grid.path} stores no continuum")
    grid.check_nodes(matrix.indices, array)  # the rows used, verified on first use
    out = weighted_rows(matrix, data.reshape(-1, grid.n_wave), out=out)
    out[~complete] = np.nan
    return out


def weighted_rows(
    matrix: sp.csr_array, rows: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``matrix @ rows`` as float32, one dense product per group of samples that share their
    nodes (the same grid cell): each group reads its node rows once, and the product runs at
    the BLAS rate instead of one sparse row update per weight (3-4x faster when samples share
    cells; :func:`cell_order` sorts a set of samples so that batches of it do).

    ``out`` (float32, C-contiguous, (n, rows.shape[1])) is written and returned: a caller that
    makes batch after batch reuses one buffer instead of mapping fresh pages for each (a batch
    of 256 spectra at R = 50000 is 32 MB, above the allocator's reuse threshold)."""
    keys, weights = padded_weights(matrix)
    n = len(keys)
    shape = (n, rows.shape[1])
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous float32 {shape} array, got {out.dtype} {out.shape}"
        )
    out[(keys < 0).all(axis=1)] = 0.0
    if keys.shape[1] == 0:
        return out
    # each sample's node list identifies its group
    groups, member = np.unique(keys, axis=0, return_inverse=True)
    with one_thread():  # the same bits on any number of cores (pfsdenoise.blas)
        for g, nodes in enumerate(groups):
            used = nodes >= 0
            if not used.any():
                continue
            samples = np.flatnonzero(member.ravel() == g)
            node_rows = np.asarray(rows[nodes[used]], dtype=np.float32)
            first, last = samples[0], samples[-1] + 1
            if last - first == samples.size:  # consecutive (samples in cell order): no copy
                np.matmul(weights[first:last][:, used], node_rows, out=out[first:last])
            else:
                out[samples] = weights[samples][:, used] @ node_rows
    return out


def padded_weights(matrix: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a weight matrix as (n, k) node indices (sorted, padded with -1) and float32
    weights (padded with 0), k the most weights of a row (16 for multilinear weights)."""
    matrix = sp.csr_array(matrix)
    matrix.sort_indices()
    n = matrix.shape[0]
    nnz = np.diff(matrix.indptr)
    width = int(nnz.max(initial=0))
    nodes = np.full((n, width), -1, dtype=np.int64)
    weights = np.zeros((n, width), dtype=np.float32)
    row = np.repeat(np.arange(n), nnz)
    slot = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], nnz)
    nodes[row, slot] = matrix.indices
    weights[row, slot] = matrix.data
    return nodes, weights


def cell_order(grid: Grid, params: np.ndarray) -> np.ndarray:
    """A permutation of ``params`` (n, 4) that puts samples of the same grid cell together, so
    that batches taken in this order share their nodes (:func:`weighted_rows`)."""
    params = _as_params(grid, params)
    cells = [cell_position(grid.axes[a], params[:, d])[0] for d, a in enumerate(grid.axis_names)]
    return np.lexsort(cells[::-1])


def interpolate(
    grid: Grid,
    params: np.ndarray,
    *,
    array: Literal["flux", "continuum"] = "flux",
    on_hole: OnHole = "raise",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Multilinear interpolation: (n, 4) parameters in ``grid.axis_names`` order -> (n, n_wave)
    float32 spectra. Exact at nodes. Raises :class:`OutOfGridError` outside the axes and
    :class:`GridHoleError` where a cell touches a missing node (or gives NaN: ``on_hole="nan"``).
    ``out``: an array to write into (:func:`weighted_rows`).
    """
    matrix, complete = linear_weights(grid, params)
    return apply_weights(grid, matrix, complete, array=array, on_hole=on_hole, out=out)


def interpolate_spline(
    grid: Grid,
    params: np.ndarray,
    rng: np.random.Generator,
    *,
    array: Literal["flux", "continuum"] = "flux",
    on_hole: OnHole = "raise",
) -> np.ndarray:
    """The authors' mode (see :func:`spline_weights`); otherwise as :func:`interpolate`."""
    matrix, complete = spline_weights(grid, params, rng)
    return apply_weights(grid, matrix, complete, array=array, on_hole=on_hole)
