"""Logging set-up shared by the workflow scripts and the command line."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)
_failure_log = logging.getLogger("pfsdenoise.failure")  # the traceback: to the log file only


def setup_logging(
    log_file: str | os.PathLike | None = None,
    level: int = logging.INFO,
    code: Mapping[str, Any] | None = None,
) -> None:
    """Send ``pfsdenoise`` log records to stderr and, when given, to ``log_file``.

    A failure that ends the process is logged too (:func:`log_failure`, installed as
    ``sys.excepthook``): its one-line explanation to both, its traceback to ``log_file``, so a
    failed workflow job's rule log says why (Snakemake's script runner sends the traceback to
    stderr only). The process then exits with the failure's status (:mod:`pfsdenoise.errors`).

    With ``code`` (a rule's derived code record, :mod:`pfsdenoise.code_closure`), the job
    checks at exit that every library module it imported is in that record, and logs a
    warning naming any that is not: a dependency the static derivation missed.
    """
    stderr = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [stderr]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    _failure_log.handlers = [handlers[-1]]
    _failure_log.propagate = False
    sys.excepthook = log_failure
    if code is not None:
        atexit.register(check_loaded_code, list(code.get("files", [])))


def log_failure(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: log why the process fails, then exit with the failure's status."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    from pfsdenoise.errors import EXIT_INTERNAL, explain

    status, message = explain(exc)
    log.error("%s", message)
    text = "".join(traceback.format_exception(kind, exc, tb)).rstrip()
    if isinstance(_failure_log.handlers[0], logging.FileHandler):
        _failure_log.error("traceback of the failure:\n%s", text)
    if status == EXIT_INTERNAL:  # a bug: its traceback on the terminal too
        print(text, file=sys.stderr)
    atexit._run_exitfuncs()  # the code check, then logging's own flush (os._exit skips them)
    os._exit(status)


UNDECLARED = "imported library files missing from the rule's derived code dependencies"


def check_loaded_code(declared: list[str]) -> set[str]:
    """Library files imported by this process but not in ``declared``; logged as a warning."""
    from pfsdenoise.code_closure import loaded_library_files

    missing = loaded_library_files(sys.modules) - set(declared)
    if missing:
        log.warning("%s: %s", UNDECLARED, ", ".join(sorted(missing)))
    return missing


class Progress:
    """Progress of a long loop: a tqdm bar on a terminal; elsewhere (a log file, a batch job) a
    log line every ``interval`` seconds instead of thousands of carriage-return updates.

    The wall clock only decides when a line is printed, never what is computed.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        unit: str = "spec",
        interval: float = 10.0,
        enabled: bool = True,
        terminal: bool | None = None,
    ) -> None:
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.enabled = enabled
        self.done = 0
        self._start = self._last = time.monotonic()
        terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar = None
        if enabled and terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, mininterval=2.0, leave=False)

    def update(self, n: int, **postfix: float) -> None:
        """Count ``n`` more items; ``postfix`` values (a running loss) are shown with them."""
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix({k: f"{v:.3g}" for k, v in postfix.items()})
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            rate = self.done / max(now - self._start, 1e-9)
            extra = "".join(f", {k} {v:.3g}" for k, v in postfix.items())
            log.info(
                "%s: %d/%d %s (%.0f %s/s%s)",
                self.desc, self.done, self.total, self.unit, rate, self.unit, extra,
            )  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
