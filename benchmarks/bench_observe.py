"""Observe-step throughput: model grid at R = 50000 sampling → 4096 MR pixels, on one core.

    python benchmarks/bench_observe.py [--n 2048] [--n-ref 40]

Times, in one run: (1) the batched pipeline (grid.interpolate → Doppler → magnitude → sparse
LSF ⊗ pixel matrix → extinction → ETC noise → normalization) and its parts; (2) a
straightforward per-spectrum reference of the same optical steps with specutils/astropy
(Doppler by redshifting the spectral axis, astropy Gaussian convolution, specutils
FluxConservingResampler onto the pixels), sharing the interpolation and the noise step.
Prints spectra/s and the ratio. Times are CPU seconds of this process (time.process_time) with
single-threaded BLAS, so other jobs sharing the machine do not inflate them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
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

from pfsdenoise.grid.interpolate import interpolate  # noqa: E402
from pfsdenoise.grid.store import log_uniform_wave, open_grid, write_grid  # noqa: E402
from pfsdenoise.observe.noise_table import build_noise_table, write_noise_table  # noqa: E402
from pfsdenoise.observe.pipeline import Observer  # noqa: E402
from pfsdenoise.simulate.sampling import sample_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOG_STEP = 1.0 / 100000  # R = 50000 files sampled at 2 points per resolution element (BOSZ)


def make_grid(path: Path, rng: np.random.Generator):
    """A 4×3×3×2 grid of blackbodies with 300 random absorption lines each."""
    wave = log_uniform_wave(6600.0, 9050.0, LOG_STEP)
    axes = {
        "teff": [3500, 4500, 5500, 6500],
        "logg": [1, 3, 5],
        "mh": [-2, -1, 0],
        "alpha": [0, 0.4],
    }
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--n-ref", type=int, default=40)
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        grid = make_grid(Path(tmp) / "grid", rng)
        table = Path(tmp) / "noise.npz"
        write_noise_table(table, build_noise_table(cfg["noise"]))
        observer = Observer(grid.wave, grid.log_step, str(table), cfg["observe"])
        ranges = {k: (grid.axes[k][0], grid.axes[k][-1]) for k in ("teff", "logg", "mh", "alpha")}
        params = sample_parameters(cfg["sampling"], args.n, rng, ranges)
        stellar = np.column_stack([params[k] for k in ("teff", "logg", "mh", "alpha")])
        batch = int(cfg["observe"]["batch_size"])
        print(
            f"grid: {grid.wave.size} samples (R = 50000 sampling), {args.n} spectra, batch {batch}"
        )

        t_interp = t_obs = 0.0
        for s in range(0, args.n, batch):
            sl = slice(s, s + batch)
            t0 = time.process_time()
            model = interpolate(grid, stellar[sl])
            t1 = time.process_time()
            observer.observe(model, {k: v[sl] for k, v in params.items()}, rng)
            t_obs += time.process_time() - t1
            t_interp += t1 - t0
        total = t_interp + t_obs
        fast = args.n / total
        print(
            f"pipeline: {fast:8.0f} spectra/s  (interpolate {t_interp / total:.0%}, "
            f"observe {t_obs / total:.0%}; observe alone {args.n / t_obs:.0f} spectra/s)"
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
            observer._finish(
                pix[None, :], pix[None, :], np.ones((1, pix.size)), np.zeros((1, pix.size), bool)
            )
        slow = n / (time.process_time() - t0)
        print(f"reference (specutils/astropy, per spectrum): {slow:8.1f} spectra/s")
        print(f"ratio pipeline / reference: {fast / slow:.0f}x")


if __name__ == "__main__":
    main()
