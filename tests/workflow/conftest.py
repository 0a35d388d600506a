"""Fixtures of the workflow tests (helpers in tiny_workflow.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_workflow import copy_workflow, snakemake, tail


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole workflow run once, locally, with config/tiny.yaml; shared by the tests that
    inspect a completed state (they must leave it as they found it)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    result = snakemake(workdir, "--cores", "2")
    if result.returncode != 0:
        pytest.fail(f"tiny workflow run failed:\n{tail(result.stdout, 120)}")
    return workdir
