"""Training straight from the grid: every batch made fresh on the training device.

The simulator's own operators, ported to torch without copying their tables: the interpolation
weights (:func:`pfsdenoise.grid.interpolate.linear_weights`), the LSF ⊗ pixel and filter
matrices (``Observer.matrix``, ``MagnitudeScaler.binning``, as dense blocks), the noise table's
bases and per-spectrum terms (:class:`pfsdenoise.observe.noise_table.NoiseTerms`) are computed
by the numpy code and moved to the device once (tables) or per batch (weights and terms, a few
hundred numbers per spectrum). :class:`TorchObserver` then does what
:meth:`Observer.noiseless` and :meth:`Observer.sigma_and_mask` do, and the two are tested
against each other (tests/learn/test_generate.py). Bad parameters fail in the shared code with
the simulator's errors (outside the grid, in a hole, outside the noise table, a Doppler shift
off the grid).

A batch is then what a shard row is: one noise realization fixes the median normalization (as
the simulator normalizes), and the usual augmentation (:class:`.device_augment.DeviceAugmenter`)
draws the training input's curve and fresh noise. Each epoch draws ``spectra_per_epoch``
parameter sets, an equal share per train chunk of the config (so the distribution is that of the
train shards), shuffled; seeds come from the epoch's generator, so a resumed run sees the same
spectra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pfsdenoise.constants import STELLAR_AXES
from pfsdenoise.grid.interpolate import linear_weights, padded_weights, require_complete
from pfsdenoise.grid.store import Grid, open_grid
from pfsdenoise.learn.data import Augmentation, Batch, LoaderClock, rank_rows
from pfsdenoise.learn.device_augment import DeviceAugmenter, StagedBatch
from pfsdenoise.observe.banded import BandedMatrix
from pfsdenoise.observe.doppler_torch import doppler_shift
from pfsdenoise.observe.noise_table import FLUX_UNIT, NoiseTerms
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.observe.star import doppler_samples
from pfsdenoise.seeding import derive_seed
from pfsdenoise.simulate.chunk import chunk_parameters
from pfsdenoise.simulate.produce import chunk_ranges, chunk_sampling


class TorchObserver:
    """:class:`Observer`'s noiseless spectra, σ and mask, on a torch device."""

    def __init__(self, grid: Grid, observer: Observer, device: torch.device) -> None:
        def tensor(a: np.ndarray, dtype=torch.float32) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a), dtype=dtype).to(device)

        self.grid, self.observer, self.device = grid, observer, device
        self.flux = tensor(np.array(grid.flux.reshape(-1, grid.n_wave)))
        # pixels and filter bins from one pass over the shifted model, in wavelength order
        optics = BandedMatrix.stack([(observer.matrix, 16), (observer.mags.binning, 8)])
        self.blocks = [(start, stop, lo, hi, tensor(b)) for start, stop, (lo, hi), b in
                       zip(optics.starts, optics.stops, optics.spans, optics.blocks, strict=True)]  # fmt: skip
        self.n_out = optics.n_out
        self.pix_ext_ln = tensor(observer.pix_ext_ln)
        self.bin_ext = tensor(observer.mags.bin_ext, torch.float64)
        table = observer.table
        self.sky_basis = tensor(table.sky_basis)
        self.object_basis = tensor(table.object_basis)
        self.extinction_ln = tensor(table.extinction_ln)
        self.stray = float(table.meta["diffuse_stray"] * table.meta["stray_geometry"])
        self.background_factor = float(table.meta["background_variance_factor"])
        self.mask_ratio = float(observer.cfg["mask"]["sky_variance_ratio"])
        self.norm_window = tensor(observer.norm_window, torch.bool)

    def noiseless(self, params: Mapping[str, np.ndarray]) -> torch.Tensor:
        """Noiseless MR spectra [1e-17 erg s⁻¹ cm⁻² Å⁻¹] at ``params`` (n, n_pix) float32."""
        stellar = np.column_stack([params[p] for p in STELLAR_AXES])
        weights, complete = linear_weights(self.grid, stellar)
        require_complete(self.grid, complete)
        self.observer.check_rv(params["rv"])
        nodes, node_weights = padded_weights(weights)
        nodes = torch.as_tensor(nodes.clip(min=0)).to(self.device)  # padding: weight 0
        node_weights = torch.as_tensor(node_weights).to(self.device)
        model = torch.zeros((len(stellar), self.flux.shape[1]), device=self.device)
        for corner in range(nodes.shape[1]):
            model += node_weights[:, corner, None] * self.flux[nodes[:, corner]]
        shifts = doppler_samples(params["rv"], self.grid.log_step, self.grid.n_wave)
        shifted = doppler_shift(model, torch.as_tensor(shifts).to(self.device))
        both = torch.zeros((len(stellar), self.n_out), dtype=torch.float32, device=self.device)
        for start, stop, lo, hi, block in self.blocks:
            both[:, start:stop] += shifted[:, lo:hi] @ block
        n_pix = self.observer.inst.n_pix
        ebv = torch.as_tensor(np.asarray(params["ebv"], dtype=np.float64)).to(self.device)
        ext_bins = 10 ** (-0.4 * ebv[:, None] * self.bin_ext[None, :])
        maggies = (both[:, n_pix:].double() * ext_bins).sum(dim=1)
        if bool((maggies <= 0).any()):
            raise ValueError(
                f"model spectrum has no flux in filter {self.observer.mags.filter_name}"
            )
        mag = torch.as_tensor(np.asarray(params["mag"], dtype=np.float64)).to(self.device)
        scale = (10 ** (-0.4 * mag) / maggies / FLUX_UNIT).float()
        ext = torch.exp(ebv.float()[:, None] * self.pix_ext_ln[None, :])
        return both[:, :n_pix] * ext * scale[:, None]

    def sigma_and_mask(
        self, flux_true: torch.Tensor, terms: NoiseTerms
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """σ and mask as :meth:`Observer.sigma_and_mask`."""

        def column(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a, dtype=np.float32)).to(self.device)[:, None]

        conv = torch.exp(column(terms.secz) * self.extinction_ln[None, :])
        conv = conv * (torch.as_tensor(terms.obj, dtype=torch.float32).to(self.device)
                       @ self.object_basis)  # fmt: skip
        sky = torch.as_tensor(terms.sky, dtype=torch.float32).to(self.device) @ self.sky_basis
        peak = sky.clone()
        peak[:, 1:] = torch.maximum(peak[:, 1:], sky[:, :-1])
        peak[:, :-1] = torch.maximum(peak[:, :-1], sky[:, 1:])
        background = sky + column(terms.floor2) * peak**2
        background = background + self.stray * sky.mean(dim=1, keepdim=True)
        background = (background + column(terms.constant)) * self.background_factor
        n_exp = column(terms.n_exp)
        sigma = torch.sqrt(n_exp * (flux_true * conv + background)) / (n_exp * conv)
        ratio = (
            background / masked_median(background, torch.ones_like(background, dtype=bool))[:, None]
        )
        bad = ~torch.isfinite(sigma)
        mask = bad | (conv <= 0) | (ratio > self.mask_ratio)
        return torch.where(bad, torch.zeros_like(sigma), sigma), mask

    def normalize(
        self, flux_true: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """flux_true and σ divided by the median noisy flux over the window (as the simulator
        normalizes a shard row); ValueError for a spectrum too faint for it."""
        norm = masked_median(flux_true + sigma * noise, self.norm_window[None, :] & ~mask)
        if not bool((norm > 0).all()):
            row = int(torch.nonzero(~(norm > 0))[0, 0])
            raise ValueError(
                f"spectrum {row}: median noisy flux in the normalization window is "
                f"{float(norm[row])}; the spectrum is too faint for median normalization"
            )
        return flux_true / norm[:, None], sigma / norm[:, None]


def masked_median(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """:func:`pfsdenoise.spectrum.masked_median` on tensors (the mean of the two middle values
    for an even count, NaN for a row without valid values or with NaN among them)."""
    block = torch.where(valid, values, torch.full_like(values, float("inf")))
    has_nan = torch.isnan(block).any(dim=1)
    block = block.sort(dim=1).values
    count = valid.sum(dim=1)
    lower = block.gather(1, ((count - 1).clamp(min=0) // 2)[:, None])[:, 0]
    upper = block.gather(1, (count // 2).clamp(max=values.shape[1] - 1)[:, None])[:, 0]
    out = torch.where(count % 2 == 0, (lower + upper) / 2, lower)
    return torch.where((count == 0) | has_nan, torch.full_like(out, float("nan")), out)


@dataclass
class GridSource:
    """Training data made from the grid each batch (see the module docstring); the
    :class:`pfsdenoise.learn.data.TrainingData` of ``train.data.source: grid``."""

    grid: Grid
    observer: Observer
    samplings: list[dict[str, Any]]  # per chunk: the global sampling with the chunk's own parts
    ranges: list[dict[str, tuple[float, float]]]
    n_rows: int
    paths: list[str]
    metadata: dict
    _device_observers: dict = field(default_factory=dict)

    @property
    def wave(self) -> np.ndarray:
        return self.observer.pix_aa

    def cache_if_small(self, max_mb: float) -> bool:
        return False

    def describe(self, cached: bool) -> str:
        return f"drawn from grid {self.grid.path} every batch"

    def device_observer(self, device: torch.device) -> TorchObserver:
        if device not in self._device_observers:
            self._device_observers[device] = TorchObserver(self.grid, self.observer, device)
        return self._device_observers[device]

    def parameters(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` parameter sets, an equal share (±1) per chunk range, shuffled."""
        counts = [
            n // len(self.ranges) + (k < n % len(self.ranges)) for k in range(len(self.ranges))
        ]
        parts = [chunk_parameters(self.grid, s, c, rng, r)
                 for c, s, r in zip(counts, self.samplings, self.ranges, strict=True) if c]  # fmt: skip
        order = rng.permutation(n)
        return {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0]}

    def spectra(
        self, params: Mapping[str, np.ndarray], seed: int, device: torch.device,
        rows: slice = slice(None),
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """Normalized noiseless flux, σ and mask of ``rows`` of the spectra at ``params`` (the
        normalizing noise drawn for all of them from ``seed``)."""
        n = len(params["rv"])
        mine = {k: np.asarray(v)[rows] for k, v in params.items()}
        torch_observer = self.device_observer(device)
        flux_true = torch_observer.noiseless(mine)
        sigma, mask = torch_observer.sigma_and_mask(flux_true, self.observer.noise_terms(mine))
        generator = torch.Generator(device=device)
        generator.manual_seed(derive_seed(seed, "normalization"))
        noise = torch.randn((n, self.wave.size), generator=generator, device=device)[rows]
        truth, sigma = torch_observer.normalize(flux_true, sigma, mask, noise)
        return truth, sigma, mask

    def batches(
        self,
        batch_size: int,
        rng: np.random.Generator,
        augment: Augmentation,
        *,
        shuffle_buffer: int,
        clock: LoaderClock,
        workers: int,
        rank: int,
        world: int,
        device: torch.device,
    ) -> Iterator[Batch]:
        """One epoch: ``n_rows`` fresh spectra in batches (rank's rows), augmented on the device.
        ``shuffle_buffer`` and ``workers`` do not apply (nothing is read)."""
        augmenter = DeviceAugmenter(self.wave, augment, device, clock)
        params = self.parameters(self.n_rows, rng)
        for start in range(0, self.n_rows, batch_size):
            part = {k: v[start : start + batch_size] for k, v in params.items()}
            n = len(part["rv"])
            if n < 2 * world:
                continue
            seed = int(rng.integers(2**63))
            rows = rank_rows(n, rank, world)
            truth, sigma, mask = self.spectra(part, seed, device, rows)
            coefficients = augment.coefficients(self.wave, n, np.random.default_rng(seed))[rows]
            ids = np.array([f"grid/{seed:x}/{i}" for i in range(n)][rows], dtype=object)
            staged = StagedBatch(
                truth, sigma, mask, torch.as_tensor(coefficients, dtype=torch.float32),
                ids, seed, rows, n,
            )  # fmt: skip
            yield augmenter.finish(staged)


def open_grid_source(
    *,
    grid_dir: str | os.PathLike,
    noise_table: str | os.PathLike,
    sampling: Mapping[str, Any],
    observe: Mapping[str, Any],
    chunks: Sequence[Mapping[str, Any]],
    spectra_per_epoch: int,
) -> GridSource:
    """The grid source of config ``train.data`` (grid and noise table files; ``sampling`` and
    ``observe`` sections; the ``simulate.chunks`` whose ranges share each epoch)."""
    grid = open_grid(grid_dir)
    observer = Observer(grid.wave, grid.log_step, str(noise_table), dict(observe))
    norm = observe["normalization"]
    # the grid's files (their provenance sidecars are read with them) and the noise table
    files = sorted(
        str(p)
        for p in Path(grid_dir).iterdir()
        if p.is_file() and not p.name.endswith(".prov.json")
    )
    return GridSource(
        grid=grid,
        observer=observer,
        samplings=[chunk_sampling(sampling, c) for c in chunks],
        ranges=[chunk_ranges(c) for c in chunks],
        n_rows=int(spectra_per_epoch),
        paths=[*files, str(noise_table)],
        metadata={"normalization": {"method": "median",
                                    "window": [norm["wave_min"], norm["wave_max"]]}},
    )  # fmt: skip
