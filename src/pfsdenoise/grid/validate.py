"""Leave-one-out interpolation error: how well the grid's neighbours predict an interior node.

For an interior node and one axis, the node is predicted from the grid without that axis value
(multilinear: its two neighbours; spline: a not-a-knot cubic through the remaining valid nodes
along the axis), optionally after the MR line spread function, and compared with the true
node spectrum. Removing a node doubles the local step, so the error is an upper bound for
points between the nodes of the full grid (about 4x larger for linear interpolation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.interpolate import CubicSpline

from pfsdenoise.grid.store import Grid


def leave_one_out(
    grid: Grid,
    index: Sequence[int],
    axis: str,
    smooth=None,
) -> dict[str, float]:
    """Relative errors |pred - true| / true at node ``index`` predicted along ``axis``.

    ``smooth`` (spectrum -> spectrum) is applied to every spectrum first, e.g. an LSF.
    Returns mean and max relative error for the linear and the spline prediction.
    """
    d = grid.axis_names.index(axis)
    values = grid.axes[axis]
    i = int(index[d])
    if not 0 < i < len(values) - 1:
        raise ValueError(f"node {tuple(index)} is not interior along {axis}")
    line_index = list(index)
    line_index[d] = slice(None)
    line_valid = grid.valid[tuple(line_index)]
    if not (line_valid[i - 1] and line_valid[i] and line_valid[i + 1]):
        raise ValueError(f"node {tuple(index)} or its {axis} neighbours are missing")
    smooth = smooth or (lambda s: s)
    line_nodes = np.ravel_multi_index(
        tuple(np.arange(len(values)) if k == d else int(j) for k, j in enumerate(index)),
        grid.shape,
    )
    grid.check_nodes(line_nodes)
    line = np.asarray(grid.flux[tuple(line_index)], dtype=np.float64)
    spectra = {j: smooth(line[j]) for j in np.flatnonzero(line_valid)}
    truth = spectra[i]
    t = (values[i] - values[i - 1]) / (values[i + 1] - values[i - 1])
    linear = (1 - t) * spectra[i - 1] + t * spectra[i + 1]
    others = [j for j in spectra if j != i]
    # contiguous valid run around i, without i
    run = [
        j
        for j in others
        if all(line_valid[min(j, i) : max(j, i) + 1] | (np.arange(min(j, i), max(j, i) + 1) == i))
    ]
    if len(run) >= 3:
        spline = CubicSpline(values[run], np.stack([spectra[j] for j in run]), axis=0)(values[i])
    else:
        spline = linear
    out = {}
    for name, pred in (("linear", linear), ("spline", spline)):
        rel = np.abs(pred - truth) / truth
        out[f"{name}_mean"] = float(rel.mean())
        out[f"{name}_max"] = float(rel.max())
    return out
