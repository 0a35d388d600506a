"""Atomic file output: write to a temporary name beside the target, rename when complete.

A job killed half-way leaves only a hidden temporary, never a file that looks complete, so
Snakemake (or a person) reruns it. Fit for shared installations:

* outputs follow the umask (files are created ``0666 & ~umask``, folders ``0777 & ~umask``, as
  by ``open`` and ``mkdir``; not ``0600``/``0700`` as ``tempfile`` makes them), so a group that
  shares a project can read its results;
* a temporary is named ``.<stem>.<host>~<pid>~<token>.tmp<suffix>``: unique per writer, and the
  cleanup of temporaries left by killed writers removes only those of a process of this host
  that no longer runs. A live writer's temporary (another job writing the same target, on this
  host or another one) is never touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from pfsdenoise.errors import write_error

_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
_FILE_MODE = 0o666  # reduced by the umask, as by open()
_DIR_MODE = 0o777  # reduced by the umask, as by mkdir()


def _writer_tag() -> str:
    """``<host>~<pid>~<token>``: which writer a temporary belongs to."""
    return f"{_HOST}~{os.getpid()}~{secrets.token_hex(4)}"


def _owner_alive(tag: str) -> bool:
    """Whether the writer of a temporary may still run (True unless it is a dead process of
    this host; a temporary of another host or of a foreign naming scheme is left alone)."""
    parts = tag.split("~")
    if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: alive
        return True
    return True


def _remove_dead_temporaries(folder: Path, prefix: str, suffixes: tuple[str, ...]) -> None:
    """Delete ``<prefix><tag><suffix>`` entries of ``folder`` whose writer is dead."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        name = entry.name
        if not name.startswith(prefix):
            continue
        for suffix in suffixes:
            if name.endswith(suffix) and not _owner_alive(name[len(prefix) : -len(suffix)]):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                break


def _raise_for_output(exc: BaseException, target: Path, tmp: Path) -> None:
    """Raise the explained form of an OS error about the output (it names ``target``)."""
    if isinstance(exc, OSError):
        explained = write_error(exc, target, tmp)
        if explained is not exc:
            raise explained from exc


def _temp_suffix(target: Path) -> str:
    return f".tmp{target.suffix}"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    The temporary exists (empty, with the umask's permissions) and keeps the target's suffix
    (some writers dispatch on it). On an exception the temporary is removed and the target is
    left untouched. Temporaries of dead writers of the same target are removed first.
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{target.stem}.", _temp_suffix(target)
    _remove_dead_temporaries(target.parent, prefix, (suffix,))
    tmp = target.with_name(f"{prefix}{_writer_tag()}{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE))
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        _raise_for_output(exc, target, tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it into place on success.

    An existing folder at ``path`` is replaced only once the new one is complete.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}."
    _remove_dead_temporaries(target.parent, prefix, (".tmp", ".old"))
    tmp = target.with_name(f"{prefix}{_writer_tag()}.tmp")
    os.mkdir(tmp, _DIR_MODE)
    try:
        yield tmp
        _replace_dir(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_for_output(exc, target, tmp)
        raise


def _replace_dir(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; a complete folder already there is moved aside first
    (under a name of this writer) and deleted after the swap."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        old = target.with_name(f".{target.name}.{_writer_tag()}.old")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
