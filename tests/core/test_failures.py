"""Every failure explained (issue 13, row 4): one line with the file, the problem and the fix,
an exit status per kind, no traceback for a user error (``--debug`` shows it), and a failed
script's log file holds the failure."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from pfsdenoise.cli import main
from pfsdenoise.configuration import ConfigError
from pfsdenoise.errors import (
    EXIT_CHECKPOINT,
    EXIT_CONFIG,
    EXIT_DAMAGED,
    EXIT_DISK_FULL,
    EXIT_FILESYSTEM,
    EXIT_FOREIGN,
    EXIT_INTERNAL,
    explain,
)
from pfsdenoise.learn.checkpoint import CheckpointError
from pfsdenoise.shards import DamagedShardError, NotAShardError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "results/a.parquet"), EXIT_DISK_FULL,
         ["results/a.parquet", "no space left", "free space"]),
        (OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left"),
         EXIT_DISK_FULL, ["no space left"]),  # Arrow: errno only in the text, no path
        (PermissionError(errno.EACCES, "Permission denied", "/shared/results"), EXIT_FILESYSTEM,
         ["/shared/results", "permission denied", "ls -l"]),
        (FileNotFoundError(errno.ENOENT, "No such file", "x.fits"), EXIT_FILESYSTEM,
         ["x.fits", "no such file"]),
        (ConfigError("invalid configuration:\n  - sampling.teff: low > high"), EXIT_CONFIG,
         ["invalid configuration:; - sampling.teff"]),
        (NotAShardError("a.fits: not a pfsdenoise shard: a FITS file"), EXIT_FOREIGN, ["a.fits"]),
        (DamagedShardError("s.parquet: damaged: ...; rerun"), EXIT_DAMAGED, ["s.parquet"]),
        (CheckpointError("m.pt: refused"), EXIT_CHECKPOINT, ["m.pt"]),
        (KeyError("seed"), EXIT_INTERNAL, ["unexpected KeyError", "--debug"]),
    ],
)  # fmt: skip
def test_each_kind_of_failure_has_its_status_and_one_line(exc, code, words):
    got, message = explain(exc)
    assert got == code
    assert "\n" not in message
    assert all(w in message for w in words), message


def _override(tmp_path: Path, override: dict) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(override))
    return path


def _simulate(tmp_path: Path, *configs: Path, debug: bool = False) -> int:
    argv = ["--debug"] if debug else []
    argv += ["simulate", "--grid", str(tmp_path / "nogrid"), "--noise", str(tmp_path / "n.npz"),
             "--chunk", "cool", "-o", str(tmp_path / "out.parquet")]  # fmt: skip
    if configs:
        argv += ["--config", *map(str, configs)]
    return main(argv)


def test_cli_refuses_an_impossible_config_in_one_line(tmp_path, capsys):
    bad = _override(tmp_path, {"sampling": {"exp_time": {"dist": "fixed", "value": -900}}})
    assert _simulate(tmp_path, bad) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "sampling.exp_time" in err and "Traceback" not in err
    assert _simulate(tmp_path, bad, debug=True) == EXIT_CONFIG
    assert "Traceback" in capsys.readouterr().err  # --debug shows it


def test_cli_simulate_validates_the_tiny_config_like_the_workflow(tmp_path, capsys):
    """Before: `pfsdenoise simulate --config config/tiny.yaml` ended in `KeyError: 'seed'`:
    now config.yaml lies underneath, as for `snakemake --configfile`, and the run gets as far
    as its missing inputs, which it names."""
    assert _simulate(tmp_path, ROOT / "config" / "tiny.yaml") == EXIT_FILESYSTEM
    err = capsys.readouterr().err
    assert f"{tmp_path / 'n.npz'}: no such file or folder" in err
    assert "KeyError" not in err and "Traceback" not in err


def test_cli_refuses_a_malformed_model_file(tmp_path, capsys):
    """Before: `KeyError: 'wave'` traceback."""
    bad = tmp_path / "model.pt"
    torch.save({"format": "pfsdenoise-denoiser", "arch": "dae", "hyper": {}}, bad)
    spectra = tmp_path / "s.fits"
    spectra.write_bytes(b"SIMPLE  =")
    argv = ["denoise", "--model", str(bad), str(spectra), "-o", str(tmp_path / "o")]
    assert main(argv) == EXIT_CHECKPOINT
    err = capsys.readouterr().err
    assert f"{bad}: malformed model file: entry 'state_dict' is missing" in err
    assert "Traceback" not in err


SCRIPT = """
import sys
from pfsdenoise.logs import setup_logging
setup_logging(sys.argv[1])
{body}
"""


def _run_script(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess, str]:
    script = tmp_path / "step.py"
    script.write_text(SCRIPT.format(body=textwrap.dedent(body)))
    log = tmp_path / "step.log"
    proc = subprocess.run([sys.executable, str(script), str(log)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    return proc, log.read_text()


def test_a_failed_scripts_log_holds_the_failure(tmp_path):
    """Snakemake's script runner sends a traceback to stderr, not to the rule's log (before: an
    empty log although Snakemake says "check log file(s)")."""
    fits = tmp_path / "user.fits"
    fits.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    proc, log = _run_script(
        tmp_path, f"from pfsdenoise.shards import read_shard\nread_shard({str(fits)!r})"
    )
    assert proc.returncode == EXIT_FOREIGN
    assert f"{fits}: not a pfsdenoise shard: a FITS file" in log
    assert "Traceback" in log  # the log file keeps the traceback for whoever debugs it
    assert "not a pfsdenoise shard" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unexpected_failure_shows_its_traceback(tmp_path):
    proc, log = _run_script(tmp_path, "{}['seed']")
    assert proc.returncode == EXIT_INTERNAL
    assert "unexpected KeyError" in log and "Traceback" in log and "Traceback" in proc.stderr
