"""Training augmentation on the training device: noise and calibration curves drawn in torch.

The host's part of a batch is small and runs in the loader threads (:meth:`DeviceAugmenter.stage`):
select the rank's rows of the noiseless flux, σ and mask, check them, draw the calibration-curve
weights from the batch's numpy generator (the same draws as the CPU path) and copy the arrays
into pinned memory. The device's part (:meth:`DeviceAugmenter.finish`, in the training thread)
copies them asynchronously (``non_blocking``), evaluates the curves on the shared mode table
(:func:`pfsdenoise.spectrum.distortion_basis`), draws the noise with a torch generator seeded by
the batch's seed (the whole batch, so a rank's rows are those of a single process), and fills
masked pixels (:func:`prepare_inputs`) without leaving the device.

Same seed, same device type → the same batches. The noise differs from the CPU path's draw (another
generator), not in its statistics (tests/learn/test_device_augment.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from pfsdenoise.learn.data import (
    Augmentation,
    Batch,
    BatchJob,
    LoaderClock,
    check_finite,
    rank_rows,
)
from pfsdenoise.seeding import derive_seed
from pfsdenoise.spectrum import SIGMA_CLIP, normalize_distortions


@dataclass
class StagedBatch:
    """The host's part of a batch: the rank's rows in (pinned) tensors, the curve weights, the
    batch's seed and size (the noise is drawn for all of it)."""

    truth: torch.Tensor
    sigma: torch.Tensor
    mask: torch.Tensor
    coefficients: torch.Tensor
    ids: np.ndarray
    seed: int
    rows: slice
    n_batch: int


class DeviceAugmenter:
    """Augments staged batches on ``device`` (see the module docstring)."""

    def __init__(
        self, wave: np.ndarray, augment: Augmentation, device: torch.device, clock: LoaderClock
    ) -> None:
        self.wave = np.asarray(wave)
        self.augment = augment
        self.device = device
        self.clock = clock
        self.pin = device.type == "cuda"
        self.basis = torch.as_tensor(augment.basis(self.wave), dtype=torch.float32).to(device)

    def stage(self, job: BatchJob, rank: int, world: int) -> StagedBatch:
        """Host side, in a loader thread: rows, checks, curve weights, pinned copies."""
        t0 = time.perf_counter()
        n = len(job.ids)
        rows = rank_rows(n, rank, world)
        ids, truth, sigma, mask = job.ids[rows], job.truth[rows], job.sigma[rows], job.mask[rows]
        check_finite("training shards", ids, "flux_true", truth, mask)
        check_finite("training shards", ids, "sigma", sigma, mask)
        rng = np.random.default_rng(job.seed)
        coefficients = self.augment.coefficients(self.wave, n, rng)[rows]
        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in (truth, sigma, mask)]
        coeff = torch.from_numpy(coefficients.astype(np.float32))
        if self.pin:
            tensors = [t.pin_memory() for t in tensors]
            coeff = coeff.pin_memory()
        self.clock.add(time.perf_counter() - t0, len(ids))
        return StagedBatch(*tensors, coeff, ids, job.seed, rows, n)

    def finish(self, staged: StagedBatch) -> Batch:
        """Device side: asynchronous copies, curves, noise, masked-pixel filling."""
        dev = self.device
        truth, sigma, mask, coeff = (
            t.to(dev, non_blocking=True)
            for t in (staged.truth, staged.sigma, staged.mask, staged.coefficients)
        )
        amplitude = self.augment.calibration_amplitude
        curve = normalize_distortions(coeff @ self.basis, amplitude) if amplitude else 1.0
        true_in = truth * curve
        sig_in = sigma * curve
        generator = torch.Generator(device=dev)
        generator.manual_seed(derive_seed(staged.seed, "noise"))
        noise = torch.randn((staged.n_batch, self.wave.size), generator=generator, device=dev)[
            staged.rows
        ]
        noisy = torch.nan_to_num(true_in) + torch.nan_to_num(sig_in) * noise
        target = true_in if self.augment.distort == "both" else truth
        flux, sig, bad = prepare_inputs(noisy, sig_in, mask)
        weight = (~bad).to(torch.float32)
        target = torch.where(bad, flux, target)
        return Batch(flux, sig, bad, target, weight, staged.ids)


def prepare_inputs(
    flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`pfsdenoise.spectrum.prepare_inputs` on tensors: masked, non-finite or σ ≤ 0 pixels
    are filled by linear interpolation from their good neighbours (the nearest good value beyond
    the ends, 1 for a row without any), σ clipped to ``SIGMA_CLIP``, the bad-pixel mask."""
    bad = mask | ~torch.isfinite(flux) | ~torch.isfinite(sigma) | ~(sigma > 0)
    filled = fill_masked(flux, bad)
    sig = torch.where(bad, torch.full_like(sigma, SIGMA_CLIP), sigma.clamp(max=SIGMA_CLIP))
    return filled, sig, bad


def fill_masked(flux: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
    """Rows of ``flux`` with ``bad`` pixels replaced as ``numpy.interp`` from the good ones."""
    n, m = flux.shape
    index = torch.arange(m, device=flux.device).expand(n, m)
    good = ~bad
    before = torch.where(good, index, -1).cummax(dim=1).values
    after = torch.where(good, index, m).flip(1).cummin(dim=1).values.flip(1)
    clean = torch.where(good, flux, 0.0)
    left = clean.gather(1, before.clamp(min=0))
    right = clean.gather(1, after.clamp(max=m - 1))
    span = (after - before).clamp(min=1).to(flux.dtype)
    inner = left + (index - before).to(flux.dtype) * (right - left) / span
    value = torch.where(before < 0, right, torch.where(after >= m, left, inner))
    value = torch.where((before < 0) & (after >= m), torch.ones_like(value), value)
    return torch.where(bad, value, flux)
