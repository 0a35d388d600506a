"""Suite-wide rules of the test run.

Under CI (``CI=true``) a skipped test is a failure: a test that CI skips proves nothing, and a
service that is missing there (the Slurm test cluster, say) is a broken CI set-up, not a reason
to pass. Locally, skips stay skips, with their reasons in the summary (``-ra``).
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"
