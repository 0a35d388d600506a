"""Optimizers, learning-rate schedules and weight averaging, from plain config values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


def make_optimizer(model: nn.Module, spec: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``{name: sgd|adam|adamw, lr, momentum, weight_decay, ...}`` → optimizer."""
    spec = dict(spec)
    name = spec.pop("name")
    params = model.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, **spec)
    if name == "adam":
        return torch.optim.Adam(params, **spec)
    if name == "adamw":
        return torch.optim.AdamW(params, **spec)
    raise ValueError(f"optimizer name {name!r}: choose sgd, adam or adamw")


def lr_factor(spec: Mapping[str, Any], epoch: int, step: int, total_steps: int) -> float:
    """Multiplier of the base learning rate at a step.

    ``step``: ×``factor`` after every ``every_epochs`` epochs (the paper's schedule);
    ``cosine``: linear warm-up over ``warmup`` (fraction of all steps), then cosine decay to
    ``final`` × the base rate (one-cycle-like); ``constant``.
    """
    name = spec["name"]
    if name == "constant":
        return 1.0
    if name == "step":
        return float(spec["factor"]) ** (epoch // int(spec["every_epochs"]))
    if name == "cosine":
        warm = max(1, int(float(spec["warmup"]) * total_steps))
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        final = float(spec["final"])
        return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t))
    raise ValueError(f"schedule name {name!r}: choose step, cosine or constant")


class Ema:
    """Exponential moving average of a model's parameters and buffers (weight averaging)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        # Warm-up of the decay (as in common EMA practice) so early averages are not dominated
        # by the random initialization.
        d = min(self.decay, (1 + step) / (10 + step))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.shadow = {k: v.clone() for k, v in state.items()}
