"""One epoch of training and one pass of validation, with the loss and the NaN diagnosis."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pfsdenoise.evaluate.metrics import mean_relative_error
from pfsdenoise.learn.data import Batch
from pfsdenoise.logs import Progress

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, ...); the message says where."""


def masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of per-pixel ``values`` over the pixels with weight 1 (unmasked)."""
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the pixels with weight 1 (unmasked)."""
    return masked_mean((pred - target) ** 2, weight)


def noise_weights(sigma: torch.Tensor, loss: Mapping[str, Any]) -> torch.Tensor | None:
    """Per-pixel loss weights of ``loss['weighting']``: ``uniform`` (None: plain MSE) or
    ``noise``, 1 + (s/σ)² with s = ``loss['sigma_data']``.

    Under the plain MSE a spectrum's share of the loss scales with its noise variance, so the
    low-S/N spectra decide everything and nothing stops a network from being worse than its
    input at high S/N. The noise weights make the squared error count relative to σ² where σ < s
    (the weights of Karras et al. 2022 for their preconditioned output, 1/c_out², up to the
    constant s²) and uniformly where σ > s.
    """
    if loss["weighting"] == "uniform":
        return None
    return 1.0 + (float(loss["sigma_data"]) / sigma) ** 2


def pixel_loss(
    pred: torch.Tensor,
    sig_hat: torch.Tensor | None,
    sigma: torch.Tensor,
    target: torch.Tensor,
    loss: Mapping[str, Any],
) -> torch.Tensor:
    """The training loss of each pixel (before masking): the (noise-weighted) squared error of
    the mean, plus, with a σ̂, the Gaussian negative log-likelihood of the residual of the
    detached mean under σ̂ (so σ̂ learns the error of the mean and the mean's training is
    unchanged)."""
    values = (pred - target) ** 2
    scale = noise_weights(sigma, loss)
    if scale is not None:
        values = values * scale
    if sig_hat is not None:
        values = values + gaussian_nll(pred.detach(), sig_hat, target)
    return values


def gaussian_nll(mean: torch.Tensor, sig_hat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per pixel, log σ̂ + (target − mean)² / (2 σ̂²)."""
    sig_hat = sig_hat.clamp_min(1e-8)
    return torch.log(sig_hat) + 0.5 * ((target - mean) / sig_hat) ** 2


def has_error(model: torch.nn.Module) -> bool:
    """Whether ``model`` (or the module inside a DDP wrapper) has a σ̂ head."""
    return bool(getattr(getattr(model, "module", model), "has_error", False))


def loss_terms(
    model: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    weight: torch.Tensor,
    loss: Mapping[str, Any],
    mean: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = masked_mean,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss of one batch (``mean`` of :func:`pixel_loss` over the unmasked pixels)
    and the prediction. A model with σ̂ is called with ``with_error=True`` (through a DDP
    wrapper too, so its gradients are reduced)."""
    flux, sigma, mask = inputs
    if has_error(model):
        pred, sig_hat = model(flux, sigma, mask, with_error=True)
        sig_hat = sig_hat.float()
    else:
        pred, sig_hat = model(flux, sigma, mask), None
    pred = pred.float()
    return mean(pixel_loss(pred, sig_hat, sigma, target, loss), weight), pred


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
    loss: Mapping[str, Any],
    teacher: torch.nn.Module | None = None,
    mean: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = masked_mean,
) -> EpochResult:
    """One pass over ``batches``: forward (bf16 autocast when ``amp``), the loss of
    :func:`loss_terms`, backward, optional gradient clipping, optimizer step; ``set_lr(step)``
    before and ``after_step(step)`` (weight averaging) after each step. ``mean``: how the
    per-pixel loss becomes the batch loss; a data-parallel rank's share of it is
    :meth:`.distributed.Ranks.mean`.

    With a ``teacher`` (knowledge distillation), the target of every unmasked pixel is the
    teacher's denoised flux of the same augmented input instead of the noiseless truth."""
    model.train()
    t0 = time.perf_counter()
    loss_sum, n_seen, step = 0.0, 0, first_step
    for b_idx, batch in enumerate(batches):
        set_lr(step)
        flux, sigma, mask, target, weight = to_device(batch, device)
        if teacher is not None:
            with torch.no_grad():
                target = torch.where(weight > 0, teacher(flux, sigma, mask).float(), target)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            value, pred = loss_terms(model, (flux, sigma, mask), target, weight, loss, mean)
        if not torch.isfinite(value):
            at = f"{where}, batch {b_idx + 1} (spectra {list(batch.ids[:3])}...)"
            tensors = {
                "input flux": flux,
                "input sigma": sigma,
                "target": target,
                "prediction": pred,
            }
            raise TrainingError(diagnose(model, tensors, at))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip_grad))
        optimizer.step()
        step += 1
        after_step(step)
        loss_sum += float(value.detach()) * len(batch)
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
    ``min_truth``) on the fixed validation realizations, and the noisy input's own error; for a
    model with σ̂ also the coverage of |x̂ − x| < σ̂ over unmasked pixels."""
    model.eval()
    sq = n_pix = 0.0
    rel: list[np.ndarray] = []
    rel_in: list[np.ndarray] = []
    inside = n_cov = 0.0
    with_error = has_error(model)
    for batch in batches:
        flux, sigma, mask, target, weight = to_device(batch, device)
        if with_error:
            pred, sig_hat = model.forward_with_error(flux, sigma, mask)
            usable = weight > 0
            inside += float(((pred - target).abs() < sig_hat)[usable].sum())
            n_cov += float(usable.sum())
        else:
            pred = model(flux, sigma, mask)
        pred = pred.float()
        sq += float(((pred - target) ** 2 * weight).sum())
        n_pix += float(weight.sum())
        args = (batch.target, batch.sigma, batch.mask, min_truth)
        rel.append(mean_relative_error(pred.cpu().numpy(), *args))
        rel_in.append(mean_relative_error(batch.flux, *args))
    metrics = {
        "val_loss": sq / max(n_pix, 1.0),
        "val_rel_err": float(np.nanmean(np.concatenate(rel))),
        "noisy_rel_err": float(np.nanmean(np.concatenate(rel_in))),
    }
    if with_error:
        metrics["val_coverage"] = inside / max(n_cov, 1.0)
    return metrics
