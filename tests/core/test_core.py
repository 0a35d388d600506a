"""Atomic outputs, seed derivation and provenance records."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pfsdenoise.atomic import atomic_dir, atomic_path
from pfsdenoise.provenance import (
    file_checksum,
    format_chain,
    job_record,
    make_record,
    provenance_chain,
    read_record,
    write_sidecar,
)
from pfsdenoise.seeding import derive_seed, make_rng


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "out" / "a.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "done"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    target = tmp_path / "grid"
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "x").write_text("2")
        raise ValueError
    assert (target / "x").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["grid"]


def test_killed_writer_leaves_no_complete_looking_file(tmp_path):
    target = tmp_path / "shard.parquet"
    script = textwrap.dedent(
        f"""
        import time
        from pfsdenoise.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_text("partial")
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp.parquet")
    # the rerun removes what the killed writer left and completes the file
    with atomic_path(target) as tmp:
        tmp.write_text("complete")
    assert [p.name for p in tmp_path.iterdir()] == ["shard.parquet"]


def test_seeds_are_deterministic_distinct_and_independent_of_other_keys():
    a = derive_seed(1, "simulate", "train", "cool", 0)
    assert a == derive_seed(1, "simulate", "train", "cool", 0)
    others = {
        derive_seed(2, "simulate", "train", "cool", 0),
        derive_seed(1, "simulate", "val", "cool", 0),
        derive_seed(1, "simulate", "train", "warm", 0),
        derive_seed(1, "simulate", "train", "cool", 1),
    }
    assert a not in others and len(others) == 4
    assert 0 <= a < 2**63
    x = make_rng(1, "a").standard_normal(5)
    np.testing.assert_array_equal(x, make_rng(1, "a").standard_normal(5))


def test_provenance_chain_walks_back_through_inputs(tmp_path):
    code = {"hash": "sha256:0123456789abcdef", "files": ["pfsdenoise/step.py"]}
    raw = tmp_path / "config.yaml"
    raw.write_text("seed: 1\n")
    mid = tmp_path / "mid.txt"
    mid.write_text("mid")
    write_sidecar(mid, make_record("simulate", config={"n": 3}, seed=5, inputs=[raw], code=code))
    fig = tmp_path / "fig.png"
    fig.write_bytes(b"png")
    write_sidecar(fig, make_record("figure", inputs=[mid], code=code))

    record = read_record(fig)
    assert record["inputs"][0]["path"] == str(mid)
    assert record["inputs"][0]["checksum"].startswith("sha256:")
    assert record["code_hash"] == read_record(mid)["code_hash"] == code["hash"]
    chain = provenance_chain(fig)
    assert [(depth, path) for depth, path, _ in chain] == [
        (0, str(fig)),
        (1, str(mid)),
        (2, str(raw)),
    ]
    lines = format_chain(chain).splitlines()
    assert len(lines) == 3  # one line per step
    assert lines[0].startswith(f"{fig} <- figure: 1 input;") and code["hash"] in lines[0]
    assert "<- simulate: 1 input; config n; seed 5;" in lines[1]
    assert lines[2].strip() == f"{raw}  (no provenance record)"
    json.dumps(record)  # plain JSON


def test_job_record_takes_the_rule_params_apart(tmp_path):
    shard = tmp_path / "in.parquet"
    shard.write_bytes(b"x")
    code = {"hash": "sha256:feedfeedfeedfeed", "files": ["pfsdenoise/a.py"], "script": "s.py"}
    record = job_record(
        "simulate", {"code": code, "seed": 7, "n_spectra": 4}, [shard], {"split": "train"}
    )
    assert record["config"] == {"n_spectra": 4} and record["seed"] == 7
    assert record["code_hash"] == code["hash"] and record["script"] == "s.py"
    assert record["wildcards"] == {"split": "train"}
    assert record["inputs"] == [{"path": str(shard), "checksum": file_checksum(shard)}]
