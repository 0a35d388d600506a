"""config/large.yaml end to end through `snakemake --profile slurm`, at reduced size
(config/large-reduced.yaml), on the local test cluster: every cluster job completes, the shard
fan-out goes in group jobs, prediction runs one job per method, training asks for its GPU and
runs two data-parallel ranks, and every benchmarked stage reports its wall time (printed: the
numbers of benchmarks/RESULTS.md "Large run"). Skipped where no cluster answers, as
test_slurm.py.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from test_slurm import PROFILE, _slurm_state, parse_run, scontrol
from tiny_workflow import copy_workflow, snakemake, tail

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from stage_times import stage_times

LARGE = ("--configfile", "config.yaml", "config/large.yaml", "config/large-reduced.yaml")
_WHY_NOT = _slurm_state()
pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or ""),
]


def test_large_config_end_to_end_on_the_cluster(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path)
    start = time.monotonic()
    result = snakemake(workdir, *PROFILE, *LARGE, tiny=False, timeout=1800)
    seconds = time.monotonic() - start
    run = parse_run(result.returncode, result.stdout, seconds)
    assert run.returncode == 0, tail(run.log, 150)
    assert "steps (100%) done" in run.log

    cluster = [job for job in run.jobs.values() if not job.local]
    states = {sid: scontrol(sid)["JobState"] for sid in run.slurm_ids}
    assert set(states.values()) == {"COMPLETED"}, states
    # six shards in one group job (profile: group-components sim=20); one prediction job per
    # method (evaluate.predict_jobs: method): 3 models + 3 baselines
    assert len(run.groups) == 1 and run.group_headers == 1
    rules = [job.rule for job in cluster]
    assert rules.count("denoise_model") == 3 and rules.count("denoise_baseline") == 3
    for sid in (run.submitted[j] for j, job in run.jobs.items() if job.rule == "train"):
        job = scontrol(sid)
        assert job["Partition"] == "gpu" and "gres:gpu:1" in job.get("TresPerJob", "")
    for model in ("unet", "dae", "resunet"):
        log = (workdir / f"results/logs/train/{model}.log").read_text()
        assert "launching 2 data-parallel ranks" in log and "rank 1/2" in log, log[-2000:]

    stages = stage_times(workdir / "results" / "benchmarks")
    assert {"simulate", "train", "evaluate/denoise"} <= set(stages)
    print(
        f"\nreduced large run: {seconds:.0f} s, {len(run.jobs)} jobs, {len(cluster)} on the "
        f"cluster in {len(run.slurm_ids)} submissions"
    )
    for stage, e in stages.items():
        print(
            f"  {stage:<22} {e['jobs']:>3.0f} jobs {e['wall_s']:>7.1f} s, longest {e['longest_s']:.1f} s"
        )
    assert re.search(r"has been submitted with SLURM jobid", run.log)
