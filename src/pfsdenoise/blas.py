"""One BLAS thread around the matrix products whose results must not depend on the machine.

OpenBLAS picks other kernels (and so sums in another order) when it runs a product on several
threads, so ``a @ b`` can differ in its last bits between a one-core job and a four-core
laptop. The observe step's products (dense blocks of the LSF and filter matrices, cell-wise
interpolation, noise-table bases, calibration curves) run inside :func:`one_thread`, so a shard
is the same bits wherever it is made (tests/workflow/test_pipeline.py: the CLI reproduces a
workflow shard). Its cost is a few microseconds per call; the products are small and one core
is what a simulation job has anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


@contextmanager
def one_thread() -> Iterator[None]:
    """Limit the BLAS libraries loaded by numpy to one thread inside the block."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
