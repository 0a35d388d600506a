"""`snakemake --profile slurm` on a real Slurm cluster (tests/slurm/start.sh brings up a one-node
cluster with a fake GPU; .ci/run starts it). The default workflow with config/tiny.yaml: every
non-local job is submitted with sbatch and completes, light rules stay local, training gets its
GPU, a second run submits nothing, a retry asks for more memory, a job killed by the scheduler
leaves no output and is all the next run redoes, and a partition the cluster does not know fails
with the scheduler's own message. Skipped where no cluster answers (a failure under CI=true,
tests/conftest.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_workflow import REPO, TINY, copy_workflow, snakemake, tail

from pfsdenoise.shards import read_shard

PROFILE = ("--profile", "slurm")
# Outputs of light rules that must run on the submitting host, not as cluster jobs.
LOCAL_PREFIXES = ("results/figures/", "results/tables/", "results/errbins/")


def _slurm_state() -> str | None:
    """None when a Slurm cluster answers with a usable node, else why not."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "Slurm client (sinfo, sbatch) not installed: run tests/slurm/install.sh"
    try:
        result = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 20 s"
    if result.returncode != 0:
        return f"no Slurm cluster answers (sinfo: {result.stderr.strip()[:200]}); start one with tests/slurm/start.sh"
    if not re.search(r"^(idle|mixed|allocated)", result.stdout, re.M):
        return f"no Slurm node is up (states: {result.stdout.split()})"
    return None


_WHY_NOT = _slurm_state()
pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or ""),
]


@dataclass(frozen=True)
class Job:
    """One Snakemake job as the run's log announced it."""

    rule: str
    local: bool
    grouped: bool  # part of a group job (e.g. the `sim` shard fan-out), submitted as one
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """What one `snakemake --profile slurm` run printed, parsed."""

    returncode: int
    log: str
    seconds: float
    jobs: dict[int, Job]  # Snakemake job id -> job
    submitted: dict[int, int]  # Snakemake job id -> Slurm job id (single jobs)
    groups: dict[str, int]  # group job id -> Slurm job id
    group_headers: int  # "Group job ..." announcements

    @property
    def slurm_ids(self) -> list[int]:
        return [*self.submitted.values(), *self.groups.values()]


# A job block: "rule NAME:" (or "localrule"), then its fields, indented once more inside a group.
JOB_BLOCK = re.compile(r"^( *)(localrule|rule) (\w+):\n(.*?)^ +jobid: (\d+)$", re.M | re.S)
OUTPUT = re.compile(r"^ +output: (.*)$", re.M)
SUBMITTED = re.compile(r"^Job (\S+) has been submitted with SLURM jobid (\d+)", re.M)


def parse_run(returncode: int, log: str, seconds: float) -> Run:
    jobs = {}
    for indent, kind, rule, body, jobid in JOB_BLOCK.findall(log):
        outputs = OUTPUT.findall(body)
        files = tuple(f.strip() for f in outputs[0].split(",")) if outputs else ()
        jobs[int(jobid)] = Job(rule, kind == "localrule", bool(indent), files)
    submitted, groups = {}, {}
    for job, slurm_id in SUBMITTED.findall(log):
        if job.isdigit():
            submitted[int(job)] = int(slurm_id)
        else:
            groups[job] = int(slurm_id)
    headers = len(re.findall(r"\] Group job \S+ \(jobs", log))
    return Run(returncode, log, seconds, jobs, submitted, groups, headers)


def run_profile(workdir: Path, *args: str) -> Run:
    start = time.monotonic()
    result = snakemake(workdir, *PROFILE, *args, timeout=1800)
    return parse_run(result.returncode, result.stdout, time.monotonic() - start)


def scontrol(job: int) -> dict[str, str]:
    """`scontrol show job` as key=value pairs (finished jobs stay for MinJobAge seconds)."""
    text = subprocess.run(
        ["scontrol", "-o", "show", "job", str(job)], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"(\S+?)=(\S*)", text))


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_run"))
    run = run_profile(workdir)
    cluster = sum(not job.local for job in run.jobs.values())
    print(
        f"\nslurm run: {run.seconds:.0f} s, {len(run.jobs)} Snakemake jobs, {cluster} on the "
        f"cluster in {len(run.slurm_ids)} sbatch submissions ({len(run.groups)} group jobs)"
    )
    if run.returncode != 0:
        pytest.fail(f"snakemake --profile slurm failed:\n{tail(run.log, 150)}")
    return workdir, run


def test_every_cluster_job_submitted_and_completed(slurm_run: tuple[Path, Run]) -> None:
    _, run = slurm_run
    single = {jid for jid, job in run.jobs.items() if not job.local and not job.grouped}
    grouped = {jid for jid, job in run.jobs.items() if job.grouped}
    assert single, "no job went to the cluster"
    assert set(run.submitted) == single, "jobs run outside Slurm, or submitted twice"
    assert not any(run.jobs[j].local for j in grouped)
    assert len(run.groups) == run.group_headers, "a group job was not submitted"
    assert bool(grouped) == bool(run.groups)
    states = {sid: scontrol(sid)["JobState"] for sid in run.slurm_ids}
    assert set(states.values()) == {"COMPLETED"}, states
    assert "steps (100%) done" in run.log


def test_light_rules_run_locally(slurm_run: tuple[Path, Run]) -> None:
    _, run = slurm_run
    light = {
        job.rule
        for job in run.jobs.values()
        if any(o.startswith(LOCAL_PREFIXES) for o in job.outputs)
    }
    assert light, "no figure, table or bin job in the run"
    remote = {job.rule for job in run.jobs.values() if not job.local}
    assert not light & remote, f"light rules sent to the cluster: {sorted(light & remote)}"


def test_training_gets_its_gpu(slurm_run: tuple[Path, Run]) -> None:
    _, run = slurm_run
    train = [run.submitted[j] for j, job in run.jobs.items() if job.rule == "train"]
    assert train, "no training job was submitted"
    for sid in train:
        job = scontrol(sid)
        assert job["Partition"] == "gpu", job
        gres = job.get("TresPerJob", "") + job.get("TresPerNode", "")
        assert "gres:gpu:1" in gres, f"training job {sid} has no GPU request: {job}"
    for sid in set(run.slurm_ids) - set(train):
        job = scontrol(sid)
        assert "gpu" not in job.get("TresPerJob", "") + job.get("TresPerNode", "")


def test_second_run_submits_nothing(slurm_run: tuple[Path, Run]) -> None:
    workdir, _ = slurm_run
    again = run_profile(workdir)
    assert again.returncode == 0, tail(again.log)
    assert again.slurm_ids == [], tail(again.log)
    assert "Nothing to be done" in again.log


def test_cluster_run_reproduces_the_local_run(slurm_run: tuple[Path, Run], tiny_run: Path) -> None:
    """Same config and seed, another executor, other processes and thread counts: the same
    shards, training histories and comparison table, byte for byte."""
    workdir, _ = slurm_run
    same = [
        "results/tables/comparison.md",
        "results/tables/comparison.csv",
        *(
            str(p.relative_to(tiny_run))
            for p in (tiny_run / "results/models").glob("*/history.csv")
        ),
    ]
    assert len(same) > 3
    for name in same:
        assert (workdir / name).read_bytes() == (tiny_run / name).read_bytes(), name
    for shard in (tiny_run / "results/shards").rglob("*.parquet"):
        ours = read_shard(workdir / shard.relative_to(tiny_run))
        theirs = read_shard(shard)
        for column, values in theirs.spectra.items():
            assert np.array_equal(ours.spectra[column], values), (shard, column)


def test_unknown_partition_fails_with_the_schedulers_message(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path)
    run = run_profile(
        workdir, "--set-resources", "noise_table:slurm_partition=nosuchpartition",
        "--until", "noise_table",
    )  # fmt: skip
    assert run.returncode != 0
    assert "invalid partition specified: nosuchpartition" in run.log.lower(), tail(run.log)
    assert not (workdir / "results" / "noise").exists() or not any(
        (workdir / "results" / "noise").rglob("*.npz")
    )


def throwaway_workflow(workdir: Path, snakefile: str) -> None:
    """A one-file workflow with the repository's profile (and an empty tiny config)."""
    (workdir / "slurm").mkdir()
    shutil.copy2(REPO / "slurm" / "config.yaml", workdir / "slurm")
    (workdir / "config").mkdir()
    (workdir / "config" / "tiny.yaml").write_text("{}\n")
    (workdir / "Snakefile").write_text(snakefile)


RETRY_SNAKEFILE = """
rule all:
    input: "memory.txt"

rule needs_memory:
    output: "memory.txt"
    log: "needs_memory.log"
    shell:
        # Stands in for a job the scheduler kills for memory: fails below 2x the first request.
        "mem=$(scontrol -o show job $SLURM_JOB_ID | grep -o 'MinMemoryNode=[0-9]*' | cut -d= -f2); "
        "test $mem -ge {min_mb} || {{ echo only $mem MB > {log}; exit 1; }}; echo $mem > {output}"
"""


def test_retry_asks_for_more_memory(tmp_path: Path) -> None:
    """The profile's `retries` with `mem_mb: <base> * attempt`: the second attempt of a failed
    job is submitted with twice the memory (rule without its own mem_mb: default-resources)."""
    first = 2000  # slurm/config.yaml default-resources mem_mb at attempt 1
    throwaway_workflow(tmp_path, RETRY_SNAKEFILE.replace("{min_mb}", str(2 * first)))
    run = run_profile(tmp_path)
    assert run.returncode == 0, tail(run.log)
    slurm_ids = [int(s) for s in re.findall(r"submitted with SLURM jobid (\d+)", run.log)]
    assert len(slurm_ids) == 2, tail(run.log)
    memory = [scontrol(s)["MinMemoryNode"] for s in slurm_ids]
    assert memory == [f"{first}M", f"{2 * first}M"]
    assert (tmp_path / "memory.txt").read_text().strip() == str(2 * first)


def test_every_cluster_rule_gets_more_memory_on_retry(slurm_run: tuple[Path, Run]) -> None:
    """Each rule that went to the cluster has an attempt-scaled mem_mb in the profile."""
    _, run = slurm_run
    profile = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
    remote = {job.rule for job in run.jobs.values() if not job.local}
    missing = {
        rule
        for rule in remote
        if "attempt" not in str(profile["set-resources"].get(rule, {}).get("mem_mb", ""))
    }
    assert not missing, (
        f'add `{sorted(missing)[0]}: {{mem_mb: "<MB> * attempt"}}` to slurm/config.yaml'
    )


KILL_SNAKEFILE = """
rule all:
    input: "slow.txt", "quick.txt"

rule quick:
    output: "quick.txt"
    shell: "echo done > {output}"

rule slow:
    output: "slow.txt"
    shell: "echo partial > {output}; sleep 600; echo complete >> {output}"
"""


def test_killed_job_leaves_no_output_and_only_it_reruns(tmp_path: Path) -> None:
    """A job the scheduler kills (scancel) mid-write: its partial output is removed, the other
    job completes, and the next run plans exactly the killed job again."""
    throwaway_workflow(tmp_path, KILL_SNAKEFILE)
    command = [sys.executable, "-m", "snakemake", *TINY, *PROFILE, "--retries", "0"]
    proc = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        logs = tmp_path / ".snakemake" / "slurm_logs" / "rule_slow"
        while not ((tmp_path / "slow.txt").exists() and any(logs.glob("*.log"))):
            assert proc.poll() is None and time.monotonic() < deadline, "slow job never started"
            time.sleep(1)
        slurm_id = next(logs.glob("*.log")).stem
        subprocess.run(["scancel", slurm_id], check=True)
        log, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, tail(log)
    assert scontrol(int(slurm_id))["JobState"] == "CANCELLED"
    assert not (tmp_path / "slow.txt").exists(), "the killed job's partial output was kept"
    assert (tmp_path / "quick.txt").read_text() == "done\n"
    plan = parse_run(0, snakemake(tmp_path, *PROFILE, "--dry-run").stdout, 0)
    assert sorted(job.rule for job in plan.jobs.values()) == ["all", "slow"]
