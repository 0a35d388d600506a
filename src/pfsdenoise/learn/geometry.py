"""The pixel-count rule of each architecture, without torch: configuration validation checks it
before any job runs, and the models check it when they are built.

A model that halves its input ``L`` times (one max-pool per U-Net level, one strided convolution
per resunet level) needs ``n_pix`` divisible by ``2**L``; the dense autoencoder takes any
``n_pix``. The default level lists of the convolutional models are defined here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

UNET_FILTERS: tuple[int, ...] = (16, 32, 64, 128)
"""Filters per U-Net level (one halving each) when ``hyper`` gives none."""
RESUNET_WIDTHS: tuple[int, ...] = (16, 32, 64, 128)
"""Channels per resunet stage when ``hyper`` gives none (one halving between stages)."""


class GeometryError(ValueError):
    """Hyper-parameters whose down-sampling does not fit the number of pixels."""


def halvings(arch: str, hyper: Mapping[str, Any]) -> int:
    """How many times architecture ``arch`` with ``hyper`` halves its input."""
    if arch == "unet":
        return len(_levels(hyper, "filters", UNET_FILTERS))
    if arch == "resunet":
        return max(len(_levels(hyper, "widths", RESUNET_WIDTHS)) - 1, 0)
    return 0


def _levels(hyper: Mapping[str, Any], key: str, default: Sequence[int]) -> Sequence[Any]:
    value = hyper.get(key, default)
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise GeometryError(
            f"hyper.{key} must be a non-empty list of channel counts, got {value!r}"
        )
    return value


def check_n_pix(arch: str, n_pix: int, hyper: Mapping[str, Any]) -> None:
    """Raise :class:`GeometryError` unless ``n_pix`` pixels fit the model's down-sampling."""
    levels = halvings(arch, hyper)
    if n_pix % (2**levels):
        fits = [n for n in (n_pix - n_pix % 2**levels, n_pix - n_pix % 2**levels + 2**levels) if n]
        raise GeometryError(
            f"{arch}: n_pix={n_pix} is not divisible by 2**{levels} = {2**levels} (one halving "
            f"per level); use {' or '.join(map(str, fits))} pixels, or fewer levels"
        )
