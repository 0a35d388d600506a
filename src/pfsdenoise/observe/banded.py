"""A sparse matrix with local support, applied as dense blocks: one BLAS product per block.

The LSF ⊗ pixel matrix (4096 pixels × ~30 000 model samples) and the filter's binning matrix
are banded: output ``i`` reads only inputs near ``i``'s wavelength. A generic sparse × dense
product streams one index per multiply-add and reaches a few GFLOP/s on one core; cutting the
outputs into blocks of ``block`` consecutive rows and storing each block's input span densely
turns the product into a sequence of small matrix products that run at the BLAS rate, for a few
times more (zero) multiply-adds. The blocks are plain float32 arrays, so the same tables serve
the numpy observe step and its torch port (:mod:`pfsdenoise.learn.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pfsdenoise.blas import one_thread


@dataclass(frozen=True)
class BandedMatrix:
    """``M`` (n_out, n_in) as dense blocks: rows ``starts[b]:stops[b]`` of ``M`` are
    ``blocks[b].T`` on input columns ``spans[b][0]:spans[b][1]`` (zero elsewhere)."""

    n_out: int
    n_in: int
    starts: tuple[int, ...]
    stops: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    blocks: tuple[np.ndarray, ...]  # (span, rows) float32, C-contiguous

    @classmethod
    def from_sparse(cls, matrix: sp.spmatrix | sp.sparray, block: int) -> BandedMatrix:
        """Blocks of ``block`` output rows of ``matrix`` (rows without entries are skipped)."""
        return cls.stack([(matrix, block)])

    @classmethod
    def stack(cls, parts: list[tuple[sp.spmatrix | sp.sparray, int]]) -> BandedMatrix:
        """The matrices of ``parts`` (same n_in) stacked row-wise, each cut into blocks of its
        own size; the blocks are ordered by their first input column, so that consecutive
        products read neighbouring inputs while they are still in the cache."""
        found = []
        offset = 0
        for matrix, block in parts:
            csr = sp.csr_array(matrix, dtype=np.float64)
            csr.sum_duplicates()
            for start in range(0, csr.shape[0], block):
                stop = min(start + block, csr.shape[0])
                part = csr[start:stop]
                if part.nnz == 0:
                    continue
                lo, hi = int(part.indices.min()), int(part.indices.max()) + 1
                dense = np.ascontiguousarray(part[:, lo:hi].toarray().T.astype(np.float32))
                found.append((lo, hi, offset + start, offset + stop, dense))
            offset += csr.shape[0]
        n_in = {int(m.shape[1]) for m, _ in parts}
        if len(n_in) != 1:
            raise ValueError(f"stacked matrices need one input size, got {sorted(n_in)}")
        found.sort(key=lambda f: (f[0], f[2]))
        return cls(offset, n_in.pop(), tuple(f[2] for f in found), tuple(f[3] for f in found),
                   tuple((f[0], f[1]) for f in found), tuple(f[4] for f in found))  # fmt: skip

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x @ M.T`` for float32 ``x`` of shape (n, n_in): (n, n_out) float32."""
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"expected (n, {self.n_in}) input, got {x.shape}")
        out = np.zeros((x.shape[0], self.n_out), dtype=np.float32)
        with one_thread():
            for start, stop, (lo, hi), dense in zip(
                self.starts, self.stops, self.spans, self.blocks, strict=True
            ):
                out[:, start:stop] = x[:, lo:hi] @ dense
        return out

    @property
    def madds_per_row(self) -> int:
        """Multiply-adds per input row (zeros of the blocks included)."""
        return int(sum(b.size for b in self.blocks))
