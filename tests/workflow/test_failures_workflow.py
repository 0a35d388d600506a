"""Failures in the workflow (issue 13, rows 3 and 4): an impossible configuration stops before
any job, naming the key; a failed job's rule log holds the failure (Snakemake's script runner
writes the traceback to stderr only)."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from tiny_workflow import REPO, copy_workflow, snakemake, tail


def test_impossible_config_stops_before_any_job(tmp_path):
    """Before: `n_pix: 4095` built the noise table and 9 shards before failing in a job."""
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "override.yaml").write_text(yaml.safe_dump({"noise": {"arm": {"n_pix": 4095}}}))
    result = snakemake(workdir, "--cores", "1", configs=("override.yaml",))
    assert result.returncode != 0
    assert "noise.arm.n_pix = 4095" in result.stdout and "use 4080 or 4096" in result.stdout
    assert not (workdir / "results").exists(), tail(result.stdout)


def test_a_dist_switched_by_a_configfile_replaces_the_default(tmp_path):
    """Before: the new dict merged with the default Beta, and validation listed a and b."""
    workdir = copy_workflow(tmp_path / "wf")
    override = {"sampling": {"teff": {"dist": "uniform", "low": 3500.0, "high": 7500.0}}}
    (workdir / "override.yaml").write_text(yaml.safe_dump(override))
    result = snakemake(workdir, "-n", "--quiet", configs=("override.yaml",))
    assert result.returncode == 0, tail(result.stdout)


SNAKEFILE = """
rule fail:
    output: "out.txt"
    log: "logs/fail.log"
    script: "fail.py"
"""
SCRIPT = """
from pfsdenoise.logs import setup_logging
from pfsdenoise.shards import read_shard

setup_logging(snakemake.log[0])
read_shard("user.fits")
"""


def test_a_failed_jobs_rule_log_holds_the_failure(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "fail.py").write_text(SCRIPT)
    (tmp_path / "user.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    log = (tmp_path / "logs" / "fail.log").read_text()
    assert "user.fits: not a pfsdenoise shard: a FITS file" in log, tail(result.stdout)
    assert "Traceback" in log
