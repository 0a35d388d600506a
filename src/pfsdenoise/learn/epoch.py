"""One epoch of training and one pass of validation, with the loss and the NaN diagnosis."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from pfsdenoise.evaluate.metrics import mean_relative_error
from pfsdenoise.learn.data import Batch
from pfsdenoise.logs import Progress

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, ...); the message says where."""


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the pixels with weight 1 (unmasked)."""
    return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp_min(1.0)


def to_device(batch: Batch, device: torch.device) -> list[torch.Tensor]:
    """flux, sigma, mask, target, weight of a batch as tensors on ``device`` (batches made on
    the device, :mod:`.device_augment`, are already there)."""
    arrays = (batch.flux, batch.sigma, batch.mask, batch.target, batch.weight)
    return [
        (a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(a))).to(device)
        for a in arrays
    ]


def diagnose(model: torch.nn.Module, named: Mapping[str, torch.Tensor], where: str) -> str:
    """Why a loss is not finite: a non-finite input, a diverged weight, or an overflow."""
    for name, t in named.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            return f"non-finite {name} {where}"
    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            return (
                f"non-finite loss {where}: weight {name!r} is non-finite (the optimizer diverged: "
                "lower the learning rate or enable gradient clipping)"
            )
    return f"non-finite loss {where} with finite inputs and weights (overflow: lower the learning rate)"


@dataclass
class EpochResult:
    """Mean training loss of an epoch, spectra seen, optimizer steps taken, seconds spent."""

    loss: float
    n_seen: int
    steps: int
    seconds: float


def train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[Batch],
    *,
    device: torch.device,
    set_lr: Callable[[int], None],
    first_step: int,
    amp: bool,
    clip_grad: float | None,
    after_step: Callable[[int], None],
    progress: Progress,
    where: str,
    loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] = masked_mse,
) -> EpochResult:
    """One pass over ``batches``: forward (bf16 autocast when ``amp``), masked MSE, backward,
    optional gradient clipping, optimizer step; ``set_lr(step)`` before and
    ``after_step(step)`` (weight averaging) after each step. ``loss_fn``: a data-parallel
    rank's share of the batch loss (:meth:`.distributed.Ranks.loss`)."""
    model.train()
    t0 = time.perf_counter()
    loss_sum, n_seen, step = 0.0, 0, first_step
    for b_idx, batch in enumerate(batches):
        set_lr(step)
        flux, sigma, mask, target, weight = to_device(batch, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model(flux, sigma, mask)
        loss = loss_fn(pred.float(), target, weight)
        if not torch.isfinite(loss):
            at = f"{where}, batch {b_idx + 1} (spectra {list(batch.ids[:3])}...)"
            tensors = {
                "input flux": flux,
                "input sigma": sigma,
                "target": target,
                "prediction": pred,
            }
            raise TrainingError(diagnose(model, tensors, at))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip_grad))
        optimizer.step()
        step += 1
        after_step(step)
        loss_sum += float(loss.detach()) * len(batch)
        n_seen += len(batch)
        progress.update(len(batch), loss=loss_sum / n_seen)
    progress.close()
    steps = step - first_step
    return EpochResult(loss_sum / max(n_seen, 1), n_seen, steps, time.perf_counter() - t0)


@torch.no_grad()
def validate(
    model: torch.nn.Module, batches: Iterable[Batch], device: torch.device, min_truth: float
) -> dict[str, float]:
    """Masked MSE and mean relative error (the evaluation's metric, pixels with truth above
    ``min_truth``) on the fixed validation realizations, and the noisy input's own error."""
    model.eval()
    sq = n_pix = 0.0
    rel: list[np.ndarray] = []
    rel_in: list[np.ndarray] = []
    for batch in batches:
        flux, sigma, mask, target, weight = to_device(batch, device)
        pred = model(flux, sigma, mask).float()
        sq += float(((pred - target) ** 2 * weight).sum())
        n_pix += float(weight.sum())
        args = (batch.target, batch.sigma, batch.mask, min_truth)
        rel.append(mean_relative_error(pred.cpu().numpy(), *args))
        rel_in.append(mean_relative_error(batch.flux, *args))
    return {
        "val_loss": sq / max(n_pix, 1.0),
        "val_rel_err": float(np.nanmean(np.concatenate(rel))),
        "noisy_rel_err": float(np.nanmean(np.concatenate(rel_in))),
    }
