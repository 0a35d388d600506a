"""An ordered, bounded thread-pool map: batch preparation running ahead of the training step.

The augmentation of a batch (calibration curve, noise draw, mask filling) is numpy work that
releases the GIL for its array operations, so a few threads overlap it with the model's forward
and backward pass and with each other; on a GPU this keeps the device busy instead of waiting
for the next batch. Results come back in the order of the inputs, so what the training sees does
not depend on the number of workers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], workers: int, ahead: int | None = None
) -> Iterator[R]:
    """``map(func, items)`` computed by ``workers`` threads, at most ``ahead`` results early.

    ``workers`` 0 maps in the calling thread. ``items`` is consumed in the calling thread. An
    exception in ``func`` is raised at its item's position; closing the iterator early cancels
    the work not yet started.
    """
    if workers <= 0:
        yield from map(func, items)
        return
    ahead = max(1, ahead or 2 * workers)
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="batch-prefetch") as pool:
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
