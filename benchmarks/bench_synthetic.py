"""Cost of one synthetic grid node, and the binned Gaussian line sum against per-line windows.

    python benchmarks/bench_synthetic.py

CPU time (process time, so other jobs on the cores matter little) of ``synthetic_spectrum`` on
the demo grid's wavelengths (R = 50000, 6600-9050 A) at a few Teff, and of summing the weak
atomic lines of a K giant two ways: ``pfsdenoise.grid.profiles.gaussian_sum`` and the
reference, the per-line Voigt windows of ``atomic_opacity`` (every line strong).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from pfsdenoise.constants import C_KMS
from pfsdenoise.grid.atmosphere import solve_layer
from pfsdenoise.grid.build import grid_wave
from pfsdenoise.grid.diatomic import molecule_lines
from pfsdenoise.grid.linedata import load_lines
from pfsdenoise.grid.profiles import gaussian_sum
from pfsdenoise.grid.synthetic import (
    ModelParameters,
    atomic_opacity,
    line_opacity_ratios,
    synthetic_spectrum,
)


def cpu(func, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    wave = grid_wave(6600.0, 9050.0, 50000)
    p = ModelParameters()
    start = time.process_time()
    synthetic_spectrum(wave, 5000.0, 4.0, 0.0, 0.0, p)
    print(f"first call (tables, molecular line lists): {time.process_time() - start:.2f} s CPU")
    for teff in (3000.0, 3500.0, 4500.0, 5777.0, 7500.0):
        t = cpu(lambda teff=teff: synthetic_spectrum(wave, teff, 4.0, 0.0, 0.0, p))
        print(f"node Teff {teff:.0f}: {t:.3f} s CPU")
    lines = load_lines(float(wave[0]) - p.max_half_width, float(wave[-1]) + p.max_half_width)
    layer = solve_layer(4500.0, 2.0, 0.0, 0.0, p.t_ratio, p.log_pe_sun)
    eta0, dl, damp = line_opacity_ratios(lines, p, layer, 2.0, 0.0, 0.0)
    weak = eta0 <= p.weak_eta
    sub = type(lines)(**{k: getattr(lines, k)[weak] for k in lines.__dataclass_fields__})
    args = (wave, sub, eta0[weak], dl[weak], damp[weak])
    binned = cpu(lambda: atomic_opacity(args[0], args[1], p, *args[2:]))
    windows = cpu(lambda: atomic_opacity(args[0], args[1], replace(p, weak_eta=0.0), *args[2:]))
    print(
        f"{weak.sum()} weak lines of a 4500/2.0 giant: per-line Voigt windows {windows:.3f} s "
        f"(reference, 1.00), binned Gaussians {binned:.3f} s ({binned / windows:.2f})"
    )

    tio = molecule_lines("TiO", round(1e8 / float(wave[-1]), 3), round(1e8 / float(wave[0]), 3))
    centre = 1e8 / tio.wavenumber
    area = np.full(len(centre), 1e-3)
    v = 1.3  # km/s, TiO at 3000 K with 1 km/s microturbulence
    binned = cpu(lambda: gaussian_sum(wave, centre, area, v))
    windows = cpu(lambda: windowed_gaussians(wave, centre, area, v))
    print(
        f"{len(centre)} TiO lines: per-line windows {windows:.3f} s (reference, 1.00), "
        f"gaussian_sum {binned:.3f} s ({binned / windows:.2f})"
    )


def windowed_gaussians(wave, centre, area, v, half=4):
    log_step = np.log(wave[1] / wave[0])
    pix = np.log(centre / wave[0]) / log_step
    idx = np.round(pix).astype(int)[:, None] + np.arange(-half, half + 1)
    ok = (idx >= 0) & (idx < len(wave))
    idx = np.clip(idx, 0, len(wave) - 1)
    dl = centre[:, None] * v / C_KMS
    prof = (
        area[:, None] / (np.sqrt(np.pi) * dl) * np.exp(-(((wave[idx] - centre[:, None]) / dl) ** 2))
    )
    return np.bincount(idx[ok], prof[ok], minlength=len(wave))


if __name__ == "__main__":
    main()
