"""The ordered thread-pool map behind the training loader: order, errors, early stop."""

import threading
import time

import numpy as np
import pytest

from pfsdenoise.learn.data import Augmentation, open_shards, training_batches
from pfsdenoise.learn.prefetch import ordered_map
from pfsdenoise.learn.testdata import AUGMENT
from pfsdenoise.seeding import make_rng


def slow_square(x: int) -> int:
    time.sleep(0.002 * (x % 3))  # later items often finish first
    return x * x


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_results_in_input_order(workers):
    assert list(ordered_map(slow_square, range(40), workers)) == [x * x for x in range(40)]


def test_work_runs_in_worker_threads():
    names = list(ordered_map(lambda _: threading.current_thread().name, range(6), 2))
    assert all(n.startswith("batch-prefetch") for n in names)


def test_error_is_raised_at_its_item():
    def fail_at_3(x: int) -> int:
        if x == 3:
            raise ValueError("bad shard row 3")
        return x

    got = []
    with pytest.raises(ValueError, match="bad shard row 3"):
        for item in ordered_map(fail_at_3, range(10), 2):
            got.append(item)
    assert got == [0, 1, 2]


def test_closing_early_stops_pulling_items():
    pulled = []

    def items():
        for i in range(10_000):
            pulled.append(i)
            yield i

    gen = ordered_map(slow_square, items(), 2, ahead=3)
    assert next(gen) == 0
    gen.close()
    assert len(pulled) <= 5


def test_training_batches_do_not_depend_on_worker_count(shards):
    s = open_shards(shards["train"])
    runs = [
        list(training_batches(s, 8, make_rng(3, "w"), Augmentation(**AUGMENT), workers=w))
        for w in (0, 3)
    ]
    assert len(runs[0]) == len(runs[1]) > 2
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.flux, b.flux)
        np.testing.assert_array_equal(a.target, b.target)
