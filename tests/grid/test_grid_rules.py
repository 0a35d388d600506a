"""The grid rules: the demo grid target plans one slice job per Teff value and a merge."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("snakemake") is None, reason="snakemake not installed")
def test_demo_grid_dry_run():
    out = subprocess.run(
        ["snakemake", "-n", "--forceall", "results/grid/demo/grid.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert re.search(r"grid_slice\s+10\b", text), text[-2000:]
    assert re.search(r"grid_merge\s+1\b", text)
