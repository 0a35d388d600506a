"""Observe-step throughput: model grid at R = 50000 sampling → 4096 MR pixels, on one core.

    python benchmarks/bench_observe.py [--n 2048] [--n-ref 40] [--shape 4 3 3 2] [--profile]

Times, in one run: (1) the chunk path of the simulator (``simulate.chunk.observe_spectra``:
grid interpolation in cell order → Doppler → magnitude → LSF ⊗ pixel matrix → extinction, then
ETC noise → noisy draw → mask and normalization batch by batch) and its two parts; (2) the
memory-bandwidth bound: a plain numpy pass reading each spectrum's 16 grid corners (16 × grid
samples × 4 bytes per spectrum), the least a multilinear interpolation must read; (3) a
straightforward per-spectrum reference of the optical steps with specutils/astropy (Doppler by
redshifting the spectral axis, astropy Gaussian convolution, specutils
FluxConservingResampler onto the pixels), sharing the interpolation and the noise step.
Prints spectra/s and the ratios. ``--profile`` prints the cProfile of the chunk path.
Times are CPU seconds of this process (time.process_time) with single-threaded BLAS, so other
jobs sharing the machine do not inflate them (their use of the memory bus still does).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import cProfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from astropy.convolution import Gaussian1DKernel, convolve  # noqa: E402
from specutils import Spectrum  # noqa: E402
from specutils.manipulation import FluxConservingResampler  # noqa: E402

from pfsdenoise.constants import STELLAR_AXES  # noqa: E402
from pfsdenoise.grid.interpolate import interpolate, linear_weights  # noqa: E402
from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid  # noqa: E402
from pfsdenoise.observe.noise_table import build_noise_table, write_noise_table  # noqa: E402
from pfsdenoise.observe.pipeline import Observation, Observer  # noqa: E402
from pfsdenoise.simulate.chunk import observe_spectra  # noqa: E402
from pfsdenoise.simulate.sampling import sample_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOG_STEP = 1.0 / 100000  # R = 50000 files sampled at 2 points per resolution element (BOSZ)


def make_grid(path: Path, rng: np.random.Generator, shape=(4, 3, 3, 2)):
    """A grid of blackbodies with 300 random absorption lines each (default 4×3×3×2 nodes over
    Teff 3500-6500 K, log g 1-5, [M/H] -2-0, [α/M] 0-0.4)."""
    wave = log_uniform_wave(6600.0, 9050.0, LOG_STEP)
    spans = {"teff": (3500, 6500), "logg": (1, 5), "mh": (-2, 0), "alpha": (0, 0.4)}
    axes = {k: list(np.linspace(*spans[k], m)) for k, m in zip(spans, shape, strict=True)}
    shape = tuple(len(v) for v in axes.values())
    flux = np.empty((*shape, wave.size), np.float32)
    for idx in np.ndindex(shape):
        t = axes["teff"][idx[0]]
        bb = 1 / (wave**5 * np.expm1(1.4388e8 / (wave * t)))
        lines = np.zeros_like(wave)
        for c in rng.uniform(6600, 9050, 300):
            sel = np.abs(wave - c) < 2
            lines[sel] += 0.5 * np.exp(-0.5 * ((wave[sel] - c) / 0.3) ** 2)
        flux[idx] = bb / bb.mean() * 1e7 * np.clip(1 - lines, 0.05, None)
    write_grid(path, axes, wave, flux, source="bench_observe synthetic grid")
    return open_grid(path)


def reference_optics(observer: Observer, model: np.ndarray, rv: float, sigma_samples: float):
    """Per-spectrum specutils/astropy version of Doppler + LSF + pixel integration."""
    wave = observer.wave_aa * (1 + rv / 299792.458)
    smooth = convolve(model, Gaussian1DKernel(sigma_samples), boundary="extend")
    spec = Spectrum(flux=smooth * u.Unit("erg / (s cm2 AA)"), spectral_axis=wave * u.AA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = FluxConservingResampler()(spec, observer.pix_aa * u.AA)
    return out.flux.value


def corner_pass(grid, stellar: np.ndarray) -> float:
    """Spectra/s of the memory-bandwidth bound: each spectrum's 16 corner rows read once."""
    flux = grid.flux.reshape(-1, grid.n_wave)
    weights, _ = linear_weights(grid, stellar)
    out = np.empty(grid.n_wave, np.float32)
    t0 = time.process_time()
    for i in range(len(stellar)):
        np.sum(flux[weights.indices[weights.indptr[i] : weights.indptr[i + 1]]], axis=0, out=out)
    return len(stellar) / (time.process_time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--n-ref", type=int, default=40)
    ap.add_argument("--shape", type=int, nargs=4, default=[4, 3, 3, 2], help="grid nodes per axis")
    ap.add_argument("--profile", action="store_true", help="print the chunk path's cProfile")
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        grid = make_grid(Path(tmp) / "grid", rng, tuple(args.shape))
        table = Path(tmp) / "noise.npz"
        write_noise_table(table, build_noise_table(cfg["noise"]))
        observer = Observer(grid.wave, grid.log_step, str(table), cfg["observe"])
        ranges = {k: (grid.axes[k][0], grid.axes[k][-1]) for k in STELLAR_AXES}
        params = sample_parameters(cfg["sampling"], args.n, rng, ranges)
        stellar = np.column_stack([params[k] for k in STELLAR_AXES])
        batch = int(cfg["observe"]["batch_size"])
        size_mb = grid.flux.nbytes / 1e6
        print(
            f"grid: {'x'.join(map(str, args.shape))} nodes x {grid.wave.size} samples (R = 50000 "
            f"sampling, {size_mb:.0f} MB), {args.n} spectra, batch {batch}"
        )

        bound = corner_pass(grid, stellar)
        observe_spectra(grid, observer, params, np.random.default_rng(0), batch)  # warm caches
        if args.profile:
            cProfile.runctx(
                "observe_spectra(grid, observer, params, rng, batch)", globals(), locals(),
                sort="tottime",
            )  # fmt: skip
        t0 = time.process_time()
        observe_spectra(grid, observer, params, rng, batch)
        total = time.process_time() - t0
        t0 = time.process_time()
        for s in range(0, args.n, batch):
            sl = slice(s, s + batch)
            observer.noiseless(
                interpolate(grid, stellar[sl]), params["rv"][sl], params["ebv"][sl],
                params["mag"][sl],
            )  # fmt: skip
        optics = time.process_time() - t0
        fast = args.n / total
        print(f"{'path':<52} {'spectra/s':>10} {'vs bound':>9}")
        print(
            f"{'memory bound: 16 corner rows per spectrum (reference)':<52} {bound:>10.0f} {1:>9.2f}"
        )
        print(f"{'chunk path (observe_spectra)':<52} {fast:>10.0f} {fast / bound:>9.2f}")
        print(
            f"{'  noiseless part alone, batches in sampling order':<52} {args.n / optics:>10.0f} "
            f"{args.n / optics / bound:>9.2f}"
        )

        # reference: same interpolation and noise, per-spectrum specutils/astropy optics
        fwhm_aa = np.mean(observer.table.meta["lsf_fwhm_pix"]) * observer.inst.dl_nm * 10
        sigma_samples = fwhm_aa / 2.3548 / (8000.0 * grid.log_step)
        n = args.n_ref
        t0 = time.process_time()
        for i in range(n):
            model = interpolate(grid, stellar[i : i + 1])[0]
            pix = reference_optics(observer, model, params["rv"][i], sigma_samples)
            one = {k: v[i : i + 1] for k, v in params.items()}
            observer.mags.maggies(model[None, :], one["ebv"])  # magnitude integral, as above
            done = Observation.empty(1, pix.size)  # the normalization, as above
            done.flux[:], done.sigma[:], done.mask[:] = pix, 1.0, False
            observer._normalize(pix[None, :].astype(np.float32), done)
        slow = n / (time.process_time() - t0)
        print(
            f"{'specutils/astropy per spectrum (reference 2)':<52} {slow:>10.1f} {slow / bound:>9.4f}"
        )
        print(f"ratio chunk path / specutils reference: {fast / slow:.0f}x")


if __name__ == "__main__":
    main()
