"""Checkpoints that rebuild their model from plain data, loaded without executing code.

A model file is a dict of plain values and tensors, saved with :func:`torch.save` and read only
with ``torch.load(weights_only=True)``, which refuses any pickled object other than tensors and
builtin containers: a file crafted to run code on load is rejected, never executed. It holds

* ``format`` / ``format_version``: what the file is;
* ``arch`` and ``hyper``: architecture name and hyper-parameters (:func:`build_model`);
* ``state_dict``: the weights (EMA weights when the model was trained with weight averaging);
* ``wave`` (float64 tensor, vacuum Å), ``schema_version`` and ``normalization`` of the shards it
  was trained on, so inputs on another grid or convention are refused;
* ``card``: the model card (plain JSON values).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pfsdenoise.atomic import atomic_path
from pfsdenoise.learn.models import ConfigurationError, build_model

FORMAT = "pfsdenoise-denoiser"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is unsafe, foreign, corrupt or for another architecture or grid."""


def plain(value: Any) -> Any:
    """JSON-plain copy of ``value`` (numpy scalars/arrays to lists), safe for weights-only files."""
    return json.loads(
        json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )


def save_torch_atomic(path: str | os.PathLike, obj: Mapping[str, Any]) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename."""
    with atomic_path(path) as tmp:
        torch.save(dict(obj), tmp)
    return Path(path)


def load_plain(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; a file with code or foreign objects is refused."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused: the file holds pickled objects other than tensors and plain data "
            f"(weights-only loading; it may try to run code). Only load checkpoints written by "
            f"pfsdenoise. Detail: {str(exc).splitlines()[0]}"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({exc})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: a {type(obj).__name__}, not a pfsdenoise checkpoint")
    return obj


def model_payload(
    model: torch.nn.Module,
    *,
    arch: str,
    hyper: Mapping[str, Any],
    wave: np.ndarray,
    normalization: Any,
    card: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """The content of a model file (see the module docstring)."""
    weights = state_dict if state_dict is not None else model.state_dict()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "hyper": plain(dict(hyper)),
        "state_dict": {k: v.detach().cpu().clone() for k, v in weights.items()},
        "wave": torch.as_tensor(np.asarray(wave, dtype=np.float64)),
        "schema_version": int(_schema_version()),
        "normalization": plain(normalization),
        "card": plain(dict(card)),
    }


def _schema_version() -> int:
    from pfsdenoise.shards import SCHEMA_VERSION

    return SCHEMA_VERSION


def rebuild(payload: Mapping[str, Any], path: Any, arch: str | None = None) -> torch.nn.Module:
    """Build the model of a loaded payload and load its weights (errors name the file)."""
    if payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a pfsdenoise model file (format {payload.get('format')!r})"
        )
    if int(payload.get("format_version", -1)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: model format {payload['format_version']} is newer than this pfsdenoise "
            f"reads ({FORMAT_VERSION}); upgrade pfsdenoise"
        )
    if arch is not None and payload["arch"] != arch:
        raise CheckpointError(
            f"{path}: a checkpoint of architecture {payload['arch']!r}, expected {arch!r}"
        )
    try:
        model = build_model(payload["arch"], int(payload["wave"].numel()), payload["hyper"])
    except ConfigurationError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit architecture {payload['arch']!r} with its stored "
            f"hyper-parameters: {str(exc).splitlines()[0]}"
        ) from None
    return model


def pick_device(device: str | None = None) -> torch.device:
    """``auto``/None: CUDA when present, else CPU; ``cpu``/``cuda`` force one."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {device!r} requested but CUDA is not available here; use 'auto'"
        )
    return torch.device(device)
