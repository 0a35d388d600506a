"""Figures of the embedded synthetic grid for the note: model spectra across Teff at solar
metallicity and across [M/H] at 4500 K (after the MR LSF), and the Sun comparison.

    python tools/plot_grid.py results/grid/demo results/figures/grid

Writes ``teff_sequence.png``, ``mh_sequence.png`` and ``sun_comparison.png`` (each with a
provenance sidecar) into the output folder, and prints (and writes ``leave_one_out.csv``) the
leave-one-out interpolation errors at a few interior nodes, after the MR LSF and median
normalization.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pfsdenoise.atomic import atomic_path
from pfsdenoise.code_closure import code_record, package_root
from pfsdenoise.grid.interpolate import interpolate
from pfsdenoise.grid.linedata import load_sun_reference
from pfsdenoise.grid.store import open_grid
from pfsdenoise.grid.sun import MR_FWHM, MR_RANGE, SUN_PARAMS, compare_with_sun, gaussian_lsf
from pfsdenoise.grid.synthetic import synthetic_spectrum
from pfsdenoise.grid.validate import leave_one_out
from pfsdenoise.provenance import make_record, write_sidecar

TOOL_CODE = code_record(__file__, package_root())


def save(fig, path: Path, grid_dir: str) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    write_sidecar(path, make_record("plot_grid", inputs=[grid_dir], code=TOOL_CODE))


def sequence(grid, axis: str, values, fixed: dict, out: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(11, 6))
    inside = (grid.wave >= MR_RANGE[0]) & (grid.wave <= MR_RANGE[1])
    for k, v in enumerate(values):
        p = {**fixed, axis: v}
        spec = interpolate(grid, [[p[a] for a in grid.axis_names]])[0]
        spec = gaussian_lsf(grid.wave, spec, MR_FWHM)[inside]
        ax.plot(
            grid.wave[inside] / 10,
            spec / np.median(spec) + 0.8 * k,
            lw=0.6,
            label=f"{axis} = {v:g}",
        )
    ax.set_xlabel("vacuum wavelength [nm]")
    ax.set_ylabel("flux / median (offset)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    save(fig, out, str(grid.path))


def sun_figure(out: Path) -> None:
    r, rms = compare_with_sun()
    sw, sf, _ = load_sun_reference()
    wave = np.exp(np.arange(np.log(6900), np.log(9000), 1e-5))
    flux, _ = synthetic_spectrum(wave, *SUN_PARAMS)
    model = gaussian_lsf(wave, flux, np.hypot(MR_FWHM, 8000 / 5000))
    sun = gaussian_lsf(sw, sf, MR_FWHM)
    sel = (sw >= MR_RANGE[0]) & (sw <= MR_RANGE[1])
    m = np.interp(sw[sel], wave, model)
    fig, ax = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    ax[0].plot(sw[sel] / 10, sun[sel] / np.median(sun[sel]), lw=0.7, label="Kurucz Sun")
    ax[0].plot(sw[sel] / 10, m / np.median(m), lw=0.7, label="synthetic 5777/4.44/0/0")
    ax[0].legend()
    ax[0].set_title(f"after the MR LSF: Pearson r = {r:.4f}, rms = {100 * rms:.2f} %")
    ax[1].plot(sw[sel] / 10, m / np.median(m) - sun[sel] / np.median(sun[sel]), lw=0.6)
    ax[1].set_xlabel("vacuum wavelength [nm]")
    ax[1].set_ylabel("model - Sun")
    save(fig, out, "src/pfsdenoise/data/sun_kurucz_mr.csv")


def build_time_figure(grid, out: Path) -> None:
    """Seconds per node of each Teff slice, as recorded in the grid's metadata."""
    per_node = grid.metadata["metadata"].get("build_seconds_per_node", {})
    if not per_node:
        return
    teff = [float(t) for t in per_node]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(
        teff,
        list(per_node.values()),
        width=0.8 * np.min(np.diff(sorted(teff)) if len(teff) > 1 else [400]),
    )
    ax.set_xlabel("Teff of the slice [K]")
    ax.set_ylabel("build time per node [s]")
    ax.set_title(f"synthetic grid, {grid.n_wave} wavelengths (R = {grid.metadata['resolution']:g})")
    save(fig, out, str(grid.path))


def loo_table(grid, out: Path) -> None:
    """Leave-one-out errors at interior nodes: each axis, a few (Teff, log g, [M/H]) points."""
    inside = (grid.wave >= MR_RANGE[0]) & (grid.wave <= MR_RANGE[1])

    def smooth(s):
        s = gaussian_lsf(grid.wave, s, MR_FWHM)[inside]
        return s / np.median(s)

    rows = ["axis,teff,logg,mh,alpha,linear_mean,linear_max,spline_mean,spline_max"]
    shape = grid.shape
    mid = [n // 2 for n in shape]
    for d, axis in enumerate(grid.axis_names):
        if shape[d] < 3:
            continue
        for i in range(1, shape[d] - 1):
            index = list(mid)
            index[d] = i
            try:
                err = leave_one_out(grid, index, axis, smooth)
            except ValueError:
                continue
            p = grid.node_params(index)
            rows.append(
                f"{axis},{p['teff']:g},{p['logg']:g},{p['mh']:g},{p['alpha']:g},"
                + ",".join(
                    f"{err[k]:.5f}"
                    for k in ("linear_mean", "linear_max", "spline_mean", "spline_max")
                )
            )
    text = "\n".join(rows) + "\n"
    print(text)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    write_sidecar(out, make_record("plot_grid.loo", inputs=[str(grid.path)], code=TOOL_CODE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid")
    parser.add_argument("out")
    args = parser.parse_args()
    grid, out = open_grid(args.grid), Path(args.out)
    teffs = [t for t in grid.axes["teff"] if t <= 7000][::1]
    sequence(
        grid,
        "teff",
        teffs,
        {
            "logg": 4.0 if 4.0 in grid.axes["logg"] else 4.5,
            "mh": 0.0,
            "alpha": 0.5 * (grid.axes["alpha"][0] + grid.axes["alpha"][-1]),
        },
        out / "teff_sequence.png",
        "synthetic grid across Teff, log g 4, [M/H] 0 (MR LSF)",
    )
    sequence(
        grid,
        "mh",
        list(grid.axes["mh"]),
        {"teff": 4500.0, "logg": 2.0, "alpha": 0.0},
        out / "mh_sequence.png",
        "synthetic grid across [M/H], Teff 4500 K, log g 2 (MR LSF)",
    )
    sun_figure(out / "sun_comparison.png")
    build_time_figure(grid, out / "build_time.png")
    loo_table(grid, out / "leave_one_out.csv")


if __name__ == "__main__":
    main()
