"""Simulate one chunk of PFS MR observations: sample parameters, interpolate the grid, observe."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.grid.interpolate import cell_order, complete_cells, interpolate
from pfsdenoise.grid.store import Grid
from pfsdenoise.observe.pipeline import SNR_DEFINITION, Observation, Observer
from pfsdenoise.observe.sky import airmass
from pfsdenoise.shards import SpectraBatch
from pfsdenoise.simulate.sampling import PARAM_ORDER, sample_parameters

UNITS = {
    "teff": "K", "logg": "dex (cgs)", "mh": "dex", "alpha": "dex", "rv": "km/s", "ebv": "mag",
    "mag": "AB mag", "zenith_angle": "deg", "field_angle": "deg", "seeing": "arcsec FWHM at 800 nm",
    "moon_zenith_angle": "deg (>= 90: below horizon)", "moon_separation": "deg",
    "moon_phase": "0 = new, 0.5 = full, 1 = new", "exp_time": "s", "n_exp": "count",
    "airmass": "", "snr": "per pixel", "norm": "1e-17 erg/s/cm2/A",
    "flux": "normalized (divided by norm)", "flux_true": "normalized (divided by norm)",
    "sigma": "normalized (divided by norm)", "wave": "Angstrom, vacuum, pixel centres",
}  # fmt: skip


def simulate_chunk(
    grid: Grid,
    noise_table_path: str,
    n: int,
    seed: int,
    sampling: Mapping,
    observe: Mapping,
    ranges: Mapping[str, tuple[float, float]],
) -> SpectraBatch:
    """Simulate ``n`` observed spectra (shard content without ``spectrum_id``).

    Parameters are drawn from ``sampling`` truncated to ``ranges`` and redrawn in grid holes;
    spectra are processed in batches of ``observe['batch_size']``. Deterministic in ``seed``.
    """
    rng = np.random.default_rng(seed)
    params = chunk_parameters(grid, sampling, n, rng, ranges)
    observer = Observer(grid.wave, grid.log_step, noise_table_path, dict(observe))
    observer.check_rv(params["rv"])
    observed = observe_spectra(grid, observer, params, rng, int(observe["batch_size"]))
    spectra = {name: getattr(observed, name) for name in ("flux", "flux_true", "sigma", "mask")}
    table = pd.DataFrame({p: params[p] for p in PARAM_ORDER})
    table["airmass"] = airmass(table["zenith_angle"].to_numpy())
    table["snr"] = observed.snr
    table["norm"] = observed.norm
    norm_cfg = observe["normalization"]
    metadata = {
        "units": UNITS,
        "snr_definition": SNR_DEFINITION,
        "normalization": {
            "method": "median",
            "window": [norm_cfg["wave_min"], norm_cfg["wave_max"]],
            "definition": (
                "flux, flux_true and sigma divided by norm = median of the noisy flux over "
                "unmasked pixels in the window [A, vacuum]"
            ),
        },
        "filter": observe["filter"],
        "observe": dict(observe),
        "calibration_distortion": (
            "applied to flux and sigma (not flux_true) before normalization"
            if observe["calibration"]["apply"]
            else "not applied"
        ),
    }
    return SpectraBatch(params=table, spectra=spectra, wave=observer.pix_aa, metadata=metadata)


def chunk_parameters(
    grid: Grid,
    sampling: Mapping,
    n: int,
    rng: np.random.Generator,
    ranges: Mapping[str, tuple[float, float]],
) -> dict[str, np.ndarray]:
    """Parameters of ``n`` spectra: ``sampling`` truncated to ``ranges`` and to the grid's axes
    (never outside them), stellar draws in grid holes redrawn."""
    stellar_ranges = dict(ranges)
    for name in STELLAR_AXES:
        axis = grid.axes[name]
        lo, hi = stellar_ranges.get(name, (axis[0], axis[-1]))
        stellar_ranges[name] = (max(lo, axis[0]), min(hi, axis[-1]))
    return sample_parameters(
        sampling, n, rng, stellar_ranges, accept=lambda p: complete_cells(grid, p)
    )


def observe_spectra(
    grid: Grid,
    observer: Observer,
    params: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    batch: int,
) -> Observation:
    """Observe spectra at ``params`` in batches of ``batch``, into one Observation.

    The noiseless spectra (no random numbers) are made in batches of samples that share grid
    cells (:func:`cell_order`: the interpolation then reads each cell's nodes once per batch);
    the noise is drawn batch by batch in the order of ``params``, so the result is that of
    observing the batches in order. Every batch writes into the chunk's arrays, and the work
    arrays are made once: no batch maps fresh memory.
    """
    stellar = np.column_stack([params[p] for p in STELLAR_AXES])
    n = len(stellar)
    result = Observation.empty(n, observer.inst.n_pix)
    order = cell_order(grid, stellar)
    models = np.empty((min(batch, n), grid.n_wave), dtype=np.float32)  # reused by every batch
    for start in range(0, n, batch):
        rows = order[start : start + batch]
        result.flux_true[rows] = observer.noiseless(
            interpolate(grid, stellar[rows], out=models[: len(rows)]),
            params["rv"][rows],
            params["ebv"][rows],
            params["mag"][rows],
        )
    for start in range(0, n, batch):
        part = result.rows(slice(start, start + batch))
        batch_params = {k: v[start : start + batch] for k, v in params.items()}
        observer.realize(part.flux_true, batch_params, rng, out=part)  # normalized in place
    return result
