"""Spectra per second through ``pfsdenoise denoise`` end to end (read, rebin, normalize,
denoise, write) for each input format, against the model's raw forward pass in the same run.

    python benchmarks/bench_cli_denoise.py [--n 256] [--arch unet] [--model model.pt]

Without ``--model`` the model is built, untrained, from ``config.yaml`` ``train.models.<arch>``
on the 4096-pixel MR stand-in grid (speed does not depend on the weights). Inputs are stand-in
spectra (pfsdenoise.learn.testdata) on a grid shifted by 0.37 px from the model's, so every call
rebins. One thread, CPU, wall-clock seconds (the CLI's cost includes file I/O).
"""

from __future__ import annotations

import argparse
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


def write_inputs(root: Path, n: int, n_images: int) -> dict[str, list[Path]]:
    """A Parquet shard, a FITS table with one row per spectrum, and 1-D FITS images."""
    wave = MR_WAVE + 0.37 * (MR_WAVE[1] - MR_WAVE[0])
    keep = wave <= MR_WAVE[-1]
    wave = wave[keep]
    data = toy_spectra(n, np.random.default_rng(1), wave)
    out: dict[str, list[Path]] = {"parquet": [write_toy_shard(root / "s.parquet", n, 1, wave)]}
    m = wave.size
    cols = [
        fits.Column(name="WAVELENGTH", format=f"{m}D", array=np.tile(wave, (n, 1))),
        fits.Column(name="FLUX", format=f"{m}E", array=data["flux"]),
        fits.Column(name="ERROR", format=f"{m}E", array=data["sigma"]),
    ]
    out["fits table"] = [root / "t.fits"]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(root / "t.fits")
    out["fits image (one spectrum per file)"] = []
    for i in range(n_images):
        img = fits.PrimaryHDU(data["flux"][i])
        img.header.update(CRVAL1=wave[0], CDELT1=wave[1] - wave[0], CRPIX1=1.0)
        path = root / f"img{i:04d}.fits"
        fits.HDUList([img, fits.ImageHDU(data["sigma"][i])]).writeto(path)
        out["fits image (one spectrum per file)"].append(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="spectra per table/shard")
    ap.add_argument("--images", type=int, default=32, help="1-D FITS image files")
    ap.add_argument("--arch", default="unet")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--config", type=Path, default=Path("config.yaml"))
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_path = args.model or make_model(root / "model.pt", args.arch, args.config)
        den = load_model(model_path, "cpu")
        inputs = write_inputs(root, args.n, args.images)

        rng = np.random.default_rng(2)
        d = toy_spectra(args.batch_size, rng)
        tensors = [torch.from_numpy(a) for a in prepare_inputs(d["flux"], d["sigma"], d["mask"])]
        with torch.no_grad():
            den.model(*tensors)  # warm-up
            start = time.perf_counter()
            den.model(*tensors)
            ref = args.batch_size / (time.perf_counter() - start)
        rows = [("raw forward pass (reference)", ref)]
        for name, paths in inputs.items():
            n = args.n if len(paths) == 1 else len(paths)
            argv = [
                "denoise",
                "--model",
                str(model_path),
                *map(str, paths),
                "-o",
                str(root / "out"),
                "--batch-size",
                str(args.batch_size),
                "--device",
                "cpu",
            ]
            start = time.perf_counter()
            if cli(argv) != 0:
                raise SystemExit(f"CLI failed on {name}")
            rows.append((f"CLI end to end: {name}", n / (time.perf_counter() - start)))
    print(
        f"model: {den.arch}, {sum(p.numel() for p in den.model.parameters()) / 1e6:.2f} M "
        f"parameters, {den.wave.size} px, batch {args.batch_size}, 1 thread CPU"
    )
    print("| path | spectra/s | vs raw forward |\n| --- | ---: | ---: |")
    for name, r in rows:
        print(f"| {name} | {r:.1f} | {r / ref:.2f} |")


if __name__ == "__main__":
    main()
