"""The `apply` target: a folder of the user's PFS products named in config is denoised, one job
per file; a bad file fails its job only; with no inputs configured nothing is planned.

Fast: a small untrained model file (pfsdenoise.learn.checkpoint) instead of a trained one, and
two pfsCalibrated files in the datamodel layout (pfsdenoise.denoise.testdata).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from astropy.io import fits
from tiny_workflow import copy_workflow, snakemake, tail

from pfsdenoise.denoise.testdata import bits, to_njy, write_target_spectra
from pfsdenoise.learn.checkpoint import model_payload, save_torch_atomic
from pfsdenoise.learn.models import build_model
from pfsdenoise.learn.testdata import toy_spectra
from pfsdenoise.logs import UNDECLARED
from pfsdenoise.provenance import read_record

pytestmark = pytest.mark.slow

WAVE = np.linspace(8400.0, 8700.0, 256)


def tiny_model(path: Path) -> Path:
    torch.manual_seed(0)
    hyper = {"filters": [4, 8], "bottleneck": 8}
    net = build_model("unet", WAVE.size, hyper)
    payload = model_payload(
        net, arch="unet", hyper=hyper, wave=WAVE, normalization={}, card={"arch": "unet"}
    )
    return save_torch_atomic(path, payload)


def products(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    made = []
    for seed in (1, 2):
        t = toy_spectra(3, np.random.default_rng(seed), WAVE)
        nm = WAVE / 10
        made.append(
            write_target_spectra(
                folder / f"pfsCalibrated-{seed:06d}.fits",
                [nm] * 3,
                [to_njy(nm, f) for f in t["flux"]],
                [to_njy(nm, s) ** 2 for s in t["sigma"]],
                list(bits(t["mask"], "CR")),
            )
        )
    (folder / "pfsCalibrated-broken.fits").write_bytes(b"SIMPLE  = not really FITS")
    (folder / "README.txt").write_text("not matched by the suffix")
    return made


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("apply"))


def test_no_inputs_plans_nothing(workdir: Path) -> None:
    result = snakemake(workdir, "-n", "apply")
    assert result.returncode == 0, tail(result.stdout)
    assert "apply_denoise" not in result.stdout


def test_apply_denoises_a_folder_of_products(workdir: Path) -> None:
    made = products(workdir / "user" / "night1")
    model = tiny_model(workdir / "user" / "model.pt")
    (workdir / "apply.yaml").write_text(
        yaml.safe_dump(
            {
                "apply": {
                    "inputs": "user/night1",
                    "model": "user/model.pt",
                    "output": "results/apply",
                    "device": "cpu",
                    "batch_size": 4,
                }
            }
        )
    )
    plan = snakemake(workdir, "-n", "apply", configs=("apply.yaml",))
    assert plan.returncode == 0, tail(plan.stdout)
    assert plan.stdout.count("rule apply_denoise") == 3 and "rule train" not in plan.stdout
    cluster = snakemake(workdir, "-n", "apply", "--profile", "slurm", configs=("apply.yaml",))
    assert cluster.returncode == 0 and cluster.stdout.count("rule apply_denoise") == 3, tail(
        cluster.stdout
    )

    result = snakemake(workdir, "--cores", "2", "--keep-going", "apply", configs=("apply.yaml",))
    assert result.returncode != 0  # the broken file's job fails ...
    log = (workdir / "results/logs/apply/pfsCalibrated-broken.log").read_text()
    assert "pfsCalibrated-broken.fits" in log
    for path in made:  # ... the others are written
        out = workdir / "results" / "apply" / path.name
        with fits.open(out) as hdul:
            assert hdul["DENOISED"].data.shape == hdul["FLUX"].data.shape
            assert np.isfinite(hdul["DENOISED"].data).mean() > 0.99
            assert list(hdul["DENOISED_INFO"].data["status"]) == ["ok"] * 3
        record = read_record(out)
        assert record["step"] == "apply_denoise" and record["inputs"][1]["path"] == str(
            model.relative_to(workdir)
        )
        log = (workdir / "results/logs/apply" / (path.stem + ".log")).read_text()
        assert "summary:" in log and UNDECLARED not in log  # derived code deps are complete
    assert not (workdir / "results/apply/pfsCalibrated-broken.fits").exists()
    again = snakemake(workdir, "-n", "apply", configs=("apply.yaml",))
    assert again.stdout.count("rule apply_denoise") == 1  # only the failed file is left to do
