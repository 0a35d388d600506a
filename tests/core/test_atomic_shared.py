"""Atomic outputs on shared installations (issue 13, row 6): permissions follow the umask,
concurrent writers never remove each other's temporaries, a dead writer's leftovers are cleaned
up, and a write that fails for lack of space names the output and leaves nothing behind."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pfsdenoise.atomic import atomic_dir, atomic_path, write_text_atomic
from pfsdenoise.errors import EXIT_DISK_FULL, OutputWriteError, explain


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_follow_the_umask(tmp_path, umask_002):
    write_text_atomic(tmp_path / "a" / "table.csv", "x\n")
    assert _mode(tmp_path / "a" / "table.csv") == 0o664  # not 0600
    with atomic_dir(tmp_path / "grid") as tmp:
        (tmp / "flux.npy").write_bytes(b"1")
    assert _mode(tmp_path / "grid") == 0o775  # not 0700
    assert _mode(tmp_path / "grid" / "flux.npy") == 0o664
    os.umask(0o077)
    write_text_atomic(tmp_path / "private.txt", "x")
    assert _mode(tmp_path / "private.txt") == 0o600


def _slow_writer(target: str, started, release, result) -> None:
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("first writer, complete")
            started.set()
            release.wait(60)
        result.put("ok")
    except BaseException as exc:  # reported to the test, which fails on it
        result.put(f"{type(exc).__name__}: {exc}")


def test_two_concurrent_writers_do_not_remove_each_other(tmp_path):
    """Outside Snakemake two processes may write the same target: the second one's cleanup
    must not delete the first one's live temporary (before: FileNotFoundError in the first)."""
    target = tmp_path / "shard.parquet"
    ctx = mp.get_context("spawn")
    started, release, result = ctx.Event(), ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_slow_writer, args=(str(target), started, release, result))
    first.start()
    try:
        assert started.wait(60)
        with atomic_path(target) as tmp:  # the second writer, while the first is writing
            tmp.write_text("second writer, complete")
        assert target.read_text() == "second writer, complete"
    finally:
        release.set()
        first.join(60)
    assert result.get(timeout=10) == "ok"
    assert target.read_text() == "first writer, complete"  # the last rename wins, complete
    assert [p.name for p in tmp_path.iterdir()] == ["shard.parquet"]


def test_live_writers_temporaries_are_kept(tmp_path):
    """The cleanup removes only temporaries of dead processes of this host (tested with a
    killed writer in test_core.py); a live process's, or another machine's, stay."""
    from pfsdenoise.atomic import _HOST

    target = tmp_path / "model.pt"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".model.{_HOST}~{sleeper.pid}~abcd.tmp.pt"
        foreign = tmp_path / ".model.otherhost~1~abcd.tmp.pt"
        for path in (live, foreign):
            path.write_text("in progress")
        with atomic_path(target) as tmp:
            tmp.write_text("done")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [live.name, foreign.name, "model.pt"]
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    write_text_atomic(target, "again")  # its writer is gone now: removed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([foreign.name, "model.pt"])


def test_full_disk_names_the_output_and_leaves_nothing(tmp_path):
    """Arrow reports a full disk as `[Errno 28] Error writing bytes to file` without a path;
    the error raised names the output and the fix, and no file is left behind."""
    if not stat.S_ISCHR(os.stat("/dev/full").st_mode):  # never create a file there
        pytest.fail("/dev/full is not the full device")
    target = tmp_path / "shard.parquet"
    table = pa.table({"a": list(range(100_000))})
    with pytest.raises(OutputWriteError) as info, atomic_path(target) as tmp:
        tmp.write_bytes(b"PAR1")  # the writer had begun
        with pa.OSFile("/dev/full", "wb") as full:  # a device that is always full (a file
            pq.write_table(table, full)  # object: pyarrow deletes a *path* it failed to write)
    code, message = explain(info.value)
    assert code == EXIT_DISK_FULL
    assert str(target) in message and "no space left" in message and "free space" in message
    assert list(tmp_path.iterdir()) == []
