"""Expected failures, explained: one line with the file, the problem and the fix, and an exit
status per kind, shared by the command line and the workflow's scripts.

The library raises the classes below (or subclasses defined beside the code that detects the
problem: :class:`pfsdenoise.shards.ShardError`, :class:`pfsdenoise.configuration.ConfigError`,
:class:`pfsdenoise.learn.checkpoint.CheckpointError`, ...); :func:`explain` turns them, and the
operating system's errors, into a message and an exit status. This module imports only the
standard library, so every entry point can use it.

Exit statuses (``pfsdenoise --help`` and docs/DEVELOPMENT.md list them too):
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_FOREIGN = 4
EXIT_DAMAGED = 5
EXIT_CHECKPOINT = 6
EXIT_FILESYSTEM = 7
EXIT_DISK_FULL = 8
EXIT_DATA = 9
EXIT_INTERNAL = 70

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_PARTIAL: "some inputs failed, the others were written (batch commands)",
    EXIT_USAGE: "bad command-line usage",
    EXIT_CONFIG: "invalid or impossible configuration",
    EXIT_FOREIGN: "an input that is not a file of the kind expected (not a shard, bad FITS)",
    EXIT_DAMAGED: "a damaged file (checksum mismatch, truncated, unreadable): rerun its step",
    EXIT_CHECKPOINT: "a model file refused (unsafe, foreign, inconsistent, too large)",
    EXIT_FILESYSTEM: "a file or folder missing or not accessible",
    EXIT_DISK_FULL: "no space left on the device (or quota exceeded)",
    EXIT_DATA: "input values that cannot be processed",
    EXIT_INTERNAL: "an unexpected error (a bug: rerun with --debug and report the traceback)",
}
__doc__ += "\n" + "\n".join(f"* ``{code}``: {text}" for code, text in EXIT_CODES.items()) + "\n"


class ExplainedError(ValueError):
    """An expected failure whose message already names the file, the problem and the fix."""

    exit_code = EXIT_DATA


class ConfigProblem(ExplainedError):
    """A configuration that cannot run."""

    exit_code = EXIT_CONFIG


class ForeignFile(ExplainedError):
    """A file that is not of the kind expected (a user's own file given where a shard goes)."""

    exit_code = EXIT_FOREIGN


class DamagedFile(ExplainedError):
    """A file of the expected kind whose content is damaged (a checksum mismatch, truncation)."""

    exit_code = EXIT_DAMAGED


class CheckpointProblem(ExplainedError):
    """A model or training-state file that is refused."""

    exit_code = EXIT_CHECKPOINT


class OutputWriteError(OSError):
    """Writing an output failed; the message names the file and what to do."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.errno = code


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_ERRNO_IN_TEXT = re.compile(r"errno (\d+)", re.IGNORECASE)


def _errno_of(exc: OSError) -> int | None:
    """The errno of an OS error, also when a library only wrote it into the message (Arrow)."""
    if exc.errno is not None:
        return exc.errno
    match = _ERRNO_IN_TEXT.search(str(exc))
    return int(match.group(1)) if match else None


def os_error_message(exc: OSError, path: str | os.PathLike | None = None) -> tuple[int, str]:
    """Exit status and message of an operating-system error on ``path`` (default: the file
    the error names)."""
    code = _errno_of(exc)
    where = path if path is not None else exc.filename
    where = f"{os.fspath(where)}: " if where is not None else ""
    reason = exc.strerror or str(exc)
    if isinstance(exc, OutputWriteError):
        return (EXIT_DISK_FULL if code in _DISK_FULL else EXIT_FILESYSTEM), str(exc)
    if code in _DISK_FULL:
        return EXIT_DISK_FULL, (
            f"{where}no space left on the device (or quota exceeded); free space there, or "
            "write the results elsewhere, and rerun"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return EXIT_FILESYSTEM, (
            f"{where}permission denied ({reason}); check the permissions of the file and its "
            "folder (ls -l), or write elsewhere"
        )
    if code == errno.ENOENT:
        return EXIT_FILESYSTEM, f"{where}no such file or folder; check the path"
    return EXIT_FILESYSTEM, f"{where}{reason}"


def explain(exc: BaseException) -> tuple[int, str]:
    """Exit status and one-line message of an exception (:data:`EXIT_INTERNAL` when it is not
    an expected kind: then the message says to rerun with ``--debug``)."""
    if isinstance(exc, ExplainedError):
        return exc.exit_code, _one_line(exc)
    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, MemoryError):
        return EXIT_DATA, "out of memory; process fewer spectra at once (a smaller batch size)"
    if isinstance(exc, ValueError):  # the library's other refusals carry their own message
        return EXIT_DATA, _one_line(exc)
    return EXIT_INTERNAL, (
        f"unexpected {type(exc).__name__}: {_one_line(exc)} (a bug in pfsdenoise? please report "
        "it with its traceback: `pfsdenoise --debug ...` shows it, a job's log file has it)"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def write_error(exc: OSError, target: str | os.PathLike, temporary: str | os.PathLike) -> OSError:
    """The error to raise for ``exc`` while writing ``target`` through ``temporary`` (a file
    or a folder): an :class:`OutputWriteError` naming the target when the error is about the
    output (a full disk reported without a file, as Arrow does, or the temporary itself);
    else ``exc`` itself."""
    named = exc.filename is not None and not os.fspath(exc.filename).startswith(
        os.fspath(temporary)
    )
    if (
        isinstance(exc, OutputWriteError)
        or named
        or (exc.filename is None and _errno_of(exc) not in _DISK_FULL)
    ):
        return exc
    _, message = os_error_message(exc, target)
    return OutputWriteError(_errno_of(exc), f"writing failed: {message}")


@contextlib.contextmanager
def foreign_reader_errors(path: str | os.PathLike, what: str, reader: str) -> Iterator[None]:
    """Turn the low-level errors that the third-party package ``reader`` raises on a malformed
    file (astropy's on a bad FITS header: ``KeyError: 7`` for BITPIX = 7, a reshape error for
    NAXIS1 = 2e9) into :class:`ForeignFile` naming ``path``. Errors raised by our own code in
    the block pass unchanged."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, EOFError, OSError) as exc:
        if isinstance(exc, ExplainedError | FileNotFoundError | PermissionError) or not _raised_in(
            exc, reader
        ):
            raise
        detail = _one_line(exc) if not isinstance(exc, KeyError) else f"bad value {exc}"
        raise ForeignFile(
            f"{os.fspath(path)}: not a readable {what} ({type(exc).__name__}: {detail}); check "
            "its header (e.g. BITPIX, NAXISn) or rewrite it with a standard writer"
        ) from exc


def _raised_in(exc: BaseException, package: str) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in ``package``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""
    return name == package or name.startswith(package + ".")
