"""A minimal workflow around the evaluate and figures rules, on synthetic shards in a temporary
folder (the grid, noise, simulate and train stages are replaced by ready-made test shards)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

SNAKEFILE = """
import sys
from pathlib import Path
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
configfile: "config.yaml"
include: "workflow/rules/common.smk"
MODEL_NAMES = []
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
rule all:
    default_target: True
    input: ALL_TARGETS,
"""


def test_config(chunks: list[str]) -> dict:
    """The repository's evaluate/plots sections, shrunk so that the run takes seconds."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    ev = config["evaluate"]
    ev["baselines"] = ["identity", "pca"]  # the others: unit tests only (time)
    ev["bins"] = {k: ev["bins"][k] for k in ("snr", "teff", "logg", "mh")}
    ev["savgol"]["grid"] = {"window": [7, 15, 31], "order": [2]}
    ev["gauss"]["grid"] = {"width": [1.0, 3.0]}
    ev["pca"] = {"max_components": 32, "grid": {"n_components": [8, 32]}}
    ev["tune"]["snr_edges"] = [0, 10, 1e6]
    ev["bootstrap"]["n"] = 50
    return {
        "seed": 1,
        "simulate": {"chunks": [{"name": c} for c in chunks], "splits": {}},
        "evaluate": ev,
        "plots": config["plots"],
    }


def make_workdir(root: Path, shard_dir: Path, chunks: list[str]) -> Path:
    """Symlink the code into ``root``, link the shards, write Snakefile and config."""
    for name in ("src", "workflow", "envs"):
        (root / name).symlink_to(REPO / name)
    (root / "results").mkdir()
    (root / "results" / "shards").symlink_to(shard_dir)
    (root / "Snakefile").write_text(SNAKEFILE)
    (root / "config.yaml").write_text(yaml.safe_dump(test_config(chunks)))
    return root


def snakemake(root: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--directory", str(root),
           "--snakefile", str(root / "Snakefile"), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root)
