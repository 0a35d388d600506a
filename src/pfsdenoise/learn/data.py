"""Training data: streamed shards, a fresh noise and calibration draw per epoch, fixed validation.

Training batches are built from the noiseless flux and σ of the shards: each epoch multiplies
them by a fresh smooth flux-calibration distortion (:func:`draw_distortions`) and draws a fresh
noise realization (:func:`noisy_realization`), from seeds drawn by a generator seeded by
(global seed, model, epoch), so a resumed run sees the same data as an uninterrupted one.

Where the augmentation runs is a switch (``augment.where``): ``cpu`` draws it with numpy in the
loader threads; ``device`` draws the noise with torch on the training device
(:mod:`.device_augment`), from pinned host copies of the noiseless arrays, which keeps a GPU fed
without the host's Python threads in the way. Both draw the calibration curves from the same
per-batch numpy generator (the curves are identical) and the noise with the same statistics
(tests/learn/test_device_augment.py).

A data-parallel rank (:mod:`.distributed`) takes its rows of every batch (:func:`rank_rows`); the
random numbers are drawn for the whole batch, so the union of the ranks' rows is the batch a
single process sees.

The distortion applies by default to the input *and* the target (``distort: both``): a
calibration error is a property of the observed spectrum, and the noiseless median-normalized
flux keeps the star's spectral energy distribution, which a smooth distortion is degenerate with
(Teff, extinction). Asking the network to undo it (``distort: input``) would ask it to guess the
calibration; asking it to preserve it teaches the robustness Pál & Dobos (2024) wanted, a denoiser
that does not depend on the continuum shape. σ is distorted with the flux (it is calibrated by the
same curve).

Validation uses the stored noisy flux (fixed realizations), so epochs compare.

Masked pixels (mask True) are filled by linear interpolation from their unmasked neighbours,
given σ = ``sigma_clip`` in the σ channel, and excluded from the loss.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from pfsdenoise.blas import one_thread
from pfsdenoise.learn.prefetch import ordered_map
from pfsdenoise.shards import SCHEMA_VERSION, iter_shard_batches, read_metadata
from pfsdenoise.spectrum import (
    add_noise,
    distortion_basis,
    distortion_coefficients,
    normalize_distortions,
    prepare_inputs,
)

log = logging.getLogger(__name__)

TRAIN_COLUMNS = ("spectrum_id", "flux_true", "sigma", "mask")
VAL_COLUMNS = ("spectrum_id", "flux", "flux_true", "sigma", "mask")


class DataError(ValueError):
    """Shards that cannot be used for training (grids, schema, non-finite values)."""


@dataclass
class Batch:
    """One minibatch, float32 ``(n, n_pix)`` arrays; ``weight`` is 1 on pixels in the loss."""

    flux: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.flux)


@dataclass
class ShardSet:
    """A list of shards checked to share one wavelength grid and the schema version."""

    paths: list[str]
    wave: np.ndarray
    n_rows: int
    metadata: dict
    cache: list[list] | None = None

    def cache_if_small(self, max_mb: float) -> bool:
        """Keep the training columns in memory when they fit in ``max_mb`` (saves re-reading
        and decoding the shards every epoch); larger sets are streamed."""
        size_mb = self.n_rows * self.wave.size * 9 / 1e6  # flux_true, sigma float32 + mask
        if size_mb <= max_mb and self.cache is None:
            self.cache = [list(iter_shard_batches([p], 256, TRAIN_COLUMNS)) for p in self.paths]
        return self.cache is not None

    def parts(self, index: int) -> Iterator:
        """Row-group batches of shard ``index`` (from memory when cached)."""
        if self.cache is not None:
            return iter(self.cache[index])
        return iter(iter_shard_batches([self.paths[index]], batch_size=256, columns=TRAIN_COLUMNS))

    def describe(self, cached: bool) -> str:
        return "in memory" if cached else "streamed"

    def batches(self, batch_size: int, rng: np.random.Generator, augment: Augmentation,
                **options) -> Iterator[Batch]:  # fmt: skip
        """One epoch of augmented batches (:func:`training_batches`; ``options`` its keywords)."""
        return training_batches(self, batch_size, rng, augment, **options)


class TrainingData(Protocol):
    """Where training batches come from: the train shards (:class:`ShardSet`) or the grid
    (:class:`pfsdenoise.learn.generate.GridSource`)."""

    paths: list[str]  # the files that identify the data (model card, resume fingerprint)
    wave: np.ndarray
    n_rows: int  # spectra per epoch
    metadata: dict

    def cache_if_small(self, max_mb: float) -> bool: ...

    def describe(self, cached: bool) -> str: ...

    def batches(
        self, batch_size: int, rng: np.random.Generator, augment: Augmentation, **options
    ) -> Iterator[Batch]: ...


def open_training_data(train: Sequence[str | os.PathLike] | Mapping) -> TrainingData:
    """The train shards (a list of paths), or the grid source (its settings, a mapping:
    :func:`pfsdenoise.learn.generate.open_grid_source`; imported only then, as it loads the
    simulator)."""
    if isinstance(train, Mapping):
        from pfsdenoise.learn.generate import open_grid_source

        return open_grid_source(**train)
    return open_shards(train, role="train")


def open_shards(
    paths: Sequence[str | os.PathLike], expect_wave: np.ndarray | None = None, role: str = "train"
) -> ShardSet:
    """Check the shards' schema and wavelength grid (against each other and ``expect_wave``)."""
    import pyarrow.parquet as pq

    paths = [str(p) for p in paths]
    if not paths:
        raise DataError(f"no {role} shards given")
    wave = None
    meta0: dict = {}
    n_rows = 0
    for path in paths:
        meta = read_metadata(path)  # raises ShardError on a foreign schema version
        if int(meta.get("schema_version", -1)) != SCHEMA_VERSION:
            raise DataError(
                f"{path}: schema version {meta.get('schema_version')}, expected {SCHEMA_VERSION}"
            )
        if wave is None:
            wave, meta0 = meta["wave"], meta
        elif not _same_grid(meta["wave"], wave):
            raise DataError(
                f"{path}: wavelength grid ({meta['wave'].size} px, {meta['wave'][0]:.3f}-"
                f"{meta['wave'][-1]:.3f}) differs from {paths[0]}'s; all {role} shards must "
                "come from one simulation run"
            )
        n_rows += pq.ParquetFile(path).metadata.num_rows
    assert wave is not None
    if expect_wave is not None and not _same_grid(wave, expect_wave):
        raise DataError(
            f"{role} shards ({paths[0]}) have a wavelength grid of {wave.size} px "
            f"{wave[0]:.3f}-{wave[-1]:.3f} Å; the model expects {np.size(expect_wave)} px "
            f"{expect_wave[0]:.3f}-{expect_wave[-1]:.3f} Å: use shards of the model's grid"
        )
    return ShardSet(paths, wave, n_rows, meta0)


def _same_grid(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=0, atol=1e-6))


def check_finite(
    path_hint: str, ids: np.ndarray, name: str, values: np.ndarray, mask: np.ndarray
) -> None:
    """DataError naming the first spectrum and pixel where ``values`` is non-finite unmasked."""
    bad = ~np.isfinite(values) & ~mask
    if bad.any():
        row, pix = np.argwhere(bad)[0]
        raise DataError(
            f"non-finite {name} in unmasked pixels of {int(bad.any(axis=1).sum())} spectra "
            f"({path_hint}), first: spectrum {ids[row]!r} pixel {pix}; fix or mask them in the shard"
        )


def _make_batch(
    flux: np.ndarray,
    sigma: np.ndarray,
    mask: np.ndarray,
    target: np.ndarray,
    ids: np.ndarray,
    where: str,
) -> Batch:
    check_finite(where, ids, "flux_true", target, mask)
    check_finite(where, ids, "sigma", sigma, mask)
    check_finite(where, ids, "flux", flux, mask)
    inp, sig, bad = prepare_inputs(flux, sigma, mask)
    weight = (~bad).astype(np.float32)
    target = np.where(bad, inp, target).astype(np.float32)
    return Batch(inp, sig, bad, target, weight, ids)


@dataclass
class Augmentation:
    """Per-epoch augmentation: calibration-distortion rms and shortest scale [Å], where the
    distortion applies (``distort``), and where the draws are made (``where``: cpu or device)."""

    calibration_amplitude: float
    calibration_scale: float
    distort: str
    where: str

    def __post_init__(self) -> None:
        if self.distort not in ("both", "input"):
            raise DataError(f"augment.distort must be 'both' or 'input', got {self.distort!r}")
        if self.where not in ("cpu", "device"):
            raise DataError(f"augment.where must be 'cpu' or 'device', got {self.where!r}")
        self._basis: tuple[np.ndarray, np.ndarray] | None = None

    def basis(self, wave: np.ndarray) -> np.ndarray:
        """The calibration modes on ``wave`` (:func:`distortion_basis`), computed once."""
        if self._basis is None or not np.array_equal(self._basis[0], wave):
            self._basis = (wave, distortion_basis(wave, self.calibration_scale))
        return self._basis[1]

    def coefficients(self, wave: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Weights (n, 2 n_modes) of ``n`` calibration curves (:func:`distortion_coefficients`)."""
        return distortion_coefficients(n, self.basis(wave).shape[0] // 2, rng)

    def curves(self, wave: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """Calibration curves (n, wave.size) float32 from their weights: rms
        ``calibration_amplitude`` (exact ones when it is 0), as :func:`draw_distortions`."""
        if self.calibration_amplitude == 0:
            return np.ones((len(coefficients), wave.size), dtype=np.float32)
        with one_thread():  # the same curves on any number of cores
            raw = coefficients @ self.basis(wave)
        return normalize_distortions(raw, self.calibration_amplitude).astype(np.float32)


def rank_rows(n: int, rank: int, world: int) -> slice:
    """The rows of a batch of ``n`` spectra that data-parallel rank ``rank`` of ``world`` takes
    (contiguous, sizes differing by at most one)."""
    return slice(rank * n // world, (rank + 1) * n // world)


class LoaderClock:
    """Accumulates the time the loader's workers spend preparing batches.

    ``rate`` is the loader's capacity: spectra per second of one worker's busy time, times the
    number of workers (what they sustain together when the training step never waits);
    :func:`training_batches` records its number of workers here.
    """

    def __init__(self) -> None:
        self.workers = 1
        self.seconds = 0.0
        self.samples = 0
        self._lock = threading.Lock()

    def add(self, seconds: float, samples: int) -> None:
        with self._lock:
            self.seconds += seconds
            self.samples += samples

    @property
    def rate(self) -> float:
        return self.workers * self.samples / self.seconds if self.seconds else float("nan")


@dataclass
class BatchJob:
    """One batch of noiseless spectra as shuffled (all ranks' rows), with its augmentation seed."""

    truth: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray
    ids: np.ndarray
    seed: int


def _augmented_batch(
    job: BatchJob,
    wave: np.ndarray,
    augment: Augmentation,
    clock: LoaderClock,
    rows: slice,
) -> Batch:
    """A fresh calibration curve and noise draw for one batch, from the batch's own seed; the
    draws are made for the whole batch and ``rows`` of it are kept."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(job.seed)
    n = len(job.ids)
    curve = augment.curves(wave, augment.coefficients(wave, n, rng)[rows])
    truth, sigma = job.truth[rows], job.sigma[rows]
    true_in = truth * curve
    sig_in = sigma * curve
    noise = rng.standard_normal((n, wave.size), dtype=np.float32)[rows]
    noisy = add_noise(np.nan_to_num(true_in), np.nan_to_num(sig_in), noise)
    target = true_in if augment.distort == "both" else truth
    batch = _make_batch(noisy, sig_in, job.mask[rows], target, job.ids[rows], "training shards")
    clock.add(time.perf_counter() - t0, len(batch))
    return batch


def training_batches(
    shards: ShardSet,
    batch_size: int,
    rng: np.random.Generator,
    augment: Augmentation,
    shuffle_buffer: int = 4096,
    clock: LoaderClock | None = None,
    workers: int = 0,
    *,
    rank: int = 0,
    world: int = 1,
    device: torch.device | None = None,
) -> Iterator[Batch]:
    """One epoch of augmented training batches (rank ``rank`` of ``world``: its rows of each).

    Shards are streamed row group by row group, interleaved in a random order, and shuffled in a
    buffer of ``shuffle_buffer`` spectra (the whole set when it fits), so memory stays bounded for
    large runs. Batches smaller than 2 spectra per rank are dropped (batch norm needs two). Each
    batch draws its augmentation from its own seed, taken from ``rng`` in order, so ``workers``
    threads can prepare batches ahead (:func:`.prefetch.ordered_map`) and the epoch's data
    does not depend on how many there are (0: prepared in the calling thread). With
    ``augment.where == "device"`` the batches are torch tensors on ``device``
    (:class:`.device_augment.DeviceAugmenter`).
    """
    clock = clock or LoaderClock()
    clock.workers = max(1, workers)
    jobs = _batch_jobs(shards, batch_size, rng, shuffle_buffer, min_size=2 * world)
    if augment.where == "device":
        from pfsdenoise.learn.device_augment import DeviceAugmenter

        augmenter = DeviceAugmenter(shards.wave, augment, device or torch.device("cpu"), clock)
        staged = ordered_map(lambda job: augmenter.stage(job, rank, world), jobs, workers)
        return map(augmenter.finish, staged)

    def prepare(job: BatchJob) -> Batch:
        rows = rank_rows(len(job.ids), rank, world)
        return _augmented_batch(job, shards.wave, augment, clock, rows)

    return ordered_map(prepare, jobs, workers)


def _batch_jobs(
    shards: ShardSet,
    batch_size: int,
    rng: np.random.Generator,
    shuffle_buffer: int,
    min_size: int = 2,
) -> Iterator[BatchJob]:
    """The epoch's shuffled batches of noiseless spectra, each with its augmentation seed."""
    iters = [shards.parts(i) for i in range(len(shards.paths))]
    buffer: list = []
    buffered = 0

    def emit(final: bool) -> Iterator[BatchJob]:
        nonlocal buffer, buffered
        ids = np.concatenate([b.params["spectrum_id"].to_numpy() for b in buffer])
        truth = np.concatenate([b.spectra["flux_true"] for b in buffer])
        sigma = np.concatenate([b.spectra["sigma"] for b in buffer])
        mask = np.concatenate([b.spectra["mask"] for b in buffer])
        order = rng.permutation(len(ids))
        n_out = len(ids) if final else (len(ids) // batch_size) * batch_size
        keep = order[n_out:]
        for start in range(0, n_out, batch_size):
            sel = np.sort(order[start : start + batch_size])
            if len(sel) < min_size:
                continue
            seed = int(rng.integers(2**63))
            yield BatchJob(truth[sel], sigma[sel], mask[sel], ids[sel], seed)
        buffer = [_subset(truth, sigma, mask, ids, keep)] if len(keep) else []
        buffered = len(keep)

    order = list(rng.permutation(len(iters)))
    while order:
        k = order[int(rng.integers(len(order)))]
        try:
            part = next(iters[k])
        except StopIteration:
            order.remove(k)
            continue
        buffer.append(part)
        buffered += len(part)
        if buffered >= shuffle_buffer:
            yield from emit(final=False)
    if buffered:
        yield from emit(final=True)


def _subset(
    truth: np.ndarray, sigma: np.ndarray, mask: np.ndarray, ids: np.ndarray, keep: np.ndarray
):
    import pandas as pd

    from pfsdenoise.shards import SpectraBatch

    return SpectraBatch(
        pd.DataFrame({"spectrum_id": ids[keep]}),
        {"flux_true": truth[keep], "sigma": sigma[keep], "mask": mask[keep]},
        np.empty(0),
    )


def validation_batches(shards: ShardSet, batch_size: int) -> Iterator[Batch]:
    """Validation batches from the stored noisy flux (the same realizations every epoch)."""
    for part in iter_shard_batches(shards.paths, batch_size=batch_size, columns=VAL_COLUMNS):
        s = part.spectra
        yield _make_batch(
            s["flux"],
            s["sigma"],
            s["mask"],
            s["flux_true"],
            part.params["spectrum_id"].to_numpy(),
            "validation shards",
        )
