"""Logging set-up shared by the workflow scripts and the command line."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


def setup_logging(
    log_file: str | os.PathLike | None = None,
    level: int = logging.INFO,
    code: Mapping[str, Any] | None = None,
) -> None:
    """Send ``pfsdenoise`` log records to stderr and, when given, to ``log_file``.

    With ``code`` (a rule's derived code record, :mod:`pfsdenoise.code_closure`), the job
    checks at exit that every library module it imported is in that record, and logs a
    warning naming any that is not: a dependency the static derivation missed.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    if code is not None:
        atexit.register(check_loaded_code, list(code.get("files", [])))


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
