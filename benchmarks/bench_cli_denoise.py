"""Spectra per second through ``pfsdenoise denoise`` end to end (read, units, mask planes, rebin,
normalize, denoise, checks, write) for each input product, against the model's raw forward pass
in the same run.

    python benchmarks/bench_cli_denoise.py [--n 256] [--files 32] [--repeat 3] [--arch resunet]
        [--model model.pt]

Without ``--model`` the model is built, untrained, from ``config.yaml`` ``train.models.<arch>``
on the 4096-pixel MR stand-in grid (speed does not depend on the weights). Inputs are stand-in
spectra (pfsdenoise.learn.testdata) on grids shifted from the model's by 0.37 px (per fibre or
object by a different fraction where the product has per-spectrum arrays), so every call
rebins; PFS products in nm and nJy (pfsArm/pfsMerged in electrons) in the datamodel layouts of
pfsdenoise.denoise.testdata. One thread, CPU seconds of the process (file reading and writing
included; the other jobs on a shared machine do not count); every figure, the reference
forward pass over the same ``--n`` spectra in the same batches included, is the fastest of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
import yaml
from astropy.io import fits

from pfsdenoise.cli import main as cli
from pfsdenoise.denoise import testdata as pfs
from pfsdenoise.denoise.model import load_model
from pfsdenoise.learn.checkpoint import model_payload, save_torch_atomic
from pfsdenoise.learn.models import build_model
from pfsdenoise.learn.testdata import MR_WAVE, toy_spectra, write_toy_shard
from pfsdenoise.spectrum import prepare_inputs


def make_model(path: Path, arch: str, config: Path) -> Path:
    """An untrained model file of ``arch`` as configured, on the MR stand-in grid."""
    spec = yaml.safe_load(config.read_text())["train"]["models"][arch]
    model = build_model(spec["arch"], MR_WAVE.size, spec["hyper"])
    norm = {"method": "median", "window": [MR_WAVE[0], MR_WAVE[-1]]}
    card = {"arch": spec["arch"], "note": "untrained, benchmark only"}
    payload = model_payload(
        model, arch=spec["arch"], hyper=spec["hyper"], wave=MR_WAVE, normalization=norm, card=card
    )
    return save_torch_atomic(path, payload)


def write_inputs(root: Path, n: int, n_files: int) -> dict[str, list[Path]]:
    """Every input format and product, ``n`` spectra each (``n_files`` one-spectrum files)."""
    step = MR_WAVE[1] - MR_WAVE[0]
    wave = MR_WAVE[:-1] + 0.37 * step
    data = toy_spectra(n, np.random.default_rng(1), wave)
    nm = wave / 10
    fnu = np.array([pfs.to_njy(nm, f) for f in data["flux"]])
    var = np.array([pfs.to_njy(nm, s) for s in data["sigma"]]) ** 2
    cr = pfs.bits(data["mask"], "CR")
    per = [nm + step / 10 * (0.2 + 0.6 * i / n) for i in range(n)]  # each its own grid
    out: dict[str, list[Path]] = {
        "parquet shard": [write_toy_shard(root / "s.parquet", n, 1, wave)]
    }
    m = wave.size
    cols = [
        fits.Column(name="WAVELENGTH", format=f"{m}D", array=np.tile(wave, (n, 1))),
        fits.Column(name="FLUX", format=f"{m}E", array=data["flux"]),
        fits.Column(name="ERROR", format=f"{m}E", array=data["sigma"]),
    ]
    out["fits table"] = [root / "t.fits"]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(root / "t.fits")
    out["pfsCalibrated (shared WAVELENGTH)"] = [
        pfs.write_target_spectra(
            root / "pfsCalibrated-1.fits", [nm] * n, list(fnu), list(var), list(cr)
        )
    ]
    out["pfsCoadd (tables, per-object WAVELENGTH)"] = [
        pfs.write_target_spectra(
            root / "pfsCoadd-1.fits", per, list(fnu), list(var), list(cr), table=True
        )
    ]
    out["pfsArm (per-fibre WAVELENGTH, electrons)"] = [
        pfs.write_fiber_array_set(
            root / "pfsArm-000001-m1.fits",
            np.stack(per),
            fnu,
            var,
            cr,
            fibers=list(range(1, n + 1)),
        )
    ]
    out["pfsMerged (one WAVELENGTH)"] = [
        pfs.write_fiber_array_set(
            root / "pfsMerged-000001.fits", nm, fnu, var, cr, fibers=list(range(1, n + 1)), arm="m"
        )
    ]
    out["pfsSingle (one spectrum per file)"] = [
        pfs.write_single(
            root / f"pfsSingle-00001-00001-1,1-{i:016x}-000001.fits", nm, fnu[i], var[i], cr[i]
        )
        for i in range(n_files)
    ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="spectra per multi-spectrum file")
    ap.add_argument("--files", type=int, default=32, help="one-spectrum pfsSingle files")
    ap.add_argument("--arch", default="resunet")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--config", type=Path, default=Path("config.yaml"))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each path; the fastest counts")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_path = args.model or make_model(root / "model.pt", args.arch, args.config)
        den = load_model(model_path, "cpu")
        inputs = write_inputs(root, args.n, args.files)

        d = toy_spectra(args.n, np.random.default_rng(2))
        prepared = [torch.from_numpy(a) for a in prepare_inputs(d["flux"], d["sigma"], d["mask"])]
        times = []
        with torch.no_grad():
            den.model(*(t[: args.batch_size] for t in prepared))  # warm-up
            for _ in range(args.repeat):
                start = time.process_time()
                for i in range(0, args.n, args.batch_size):
                    den.model(*(t[i : i + args.batch_size] for t in prepared))
                times.append(time.process_time() - start)
        ref = args.n / min(times)
        rows = [("raw forward pass (reference)", ref)]
        for name, paths in inputs.items():
            n = args.n if len(paths) == 1 else len(paths)
            argv = [
                "denoise",
                "--model",
                str(model_path),
                *map(str, paths),
                "-o",
                str(root / "out" / name.split()[0]),
                "--batch-size",
                str(args.batch_size),
                "--device",
                "cpu",
            ]
            best = float("inf")
            for _ in range(args.repeat):
                start = time.process_time()
                with contextlib.redirect_stdout(io.StringIO()):  # the summary table
                    status = cli(argv)
                best = min(best, time.process_time() - start)
                if status != 0:
                    raise SystemExit(f"CLI failed on {name}")
            rows.append((f"CLI end to end: {name}", n / best))
    print(
        f"model: {den.arch}, {sum(p.numel() for p in den.model.parameters()) / 1e6:.2f} M "
        f"parameters, {den.wave.size} px, batch {args.batch_size}, 1 thread CPU"
    )
    print("| path | spectra/s | vs raw forward |\n| --- | ---: | ---: |")
    for name, r in rows:
        print(f"| {name} | {r:.1f} | {r / ref:.2f} |")


if __name__ == "__main__":
    main()
