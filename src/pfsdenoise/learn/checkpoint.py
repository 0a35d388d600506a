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

Before a model is built from a file, :func:`rebuild` checks the file's structure, builds the
architecture on PyTorch's ``meta`` device (shapes only, no memory) to compare the parameter
shapes the hyper-parameters imply with the stored tensors, and refuses weights larger than a
bound: a crafted ``hidden: [1e9]`` is refused before anything is allocated.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pfsdenoise.atomic import atomic_path
from pfsdenoise.errors import CheckpointProblem, OutputWriteError
from pfsdenoise.learn.models import ConfigurationError, build_model

FORMAT = "pfsdenoise-denoiser"
FORMAT_VERSION = 1
MAX_MODEL_MB = 4096.0
"""Largest weights (parameters and buffers, MB) a model file may imply, unless the caller
allows more: 30x the paper-scale U-Net (64...512 filters: ~31 M parameters, 124 MB), so no
trained model of this project comes near it, while a damaged or crafted file asking for
terabytes is refused."""
REQUIRED = {"format": str, "arch": str, "hyper": dict, "state_dict": dict, "wave": torch.Tensor,
            "schema_version": int}  # fmt: skip


class CheckpointError(CheckpointProblem):
    """A checkpoint that is unsafe, foreign, corrupt or for another architecture or grid."""


def plain(value: Any) -> Any:
    """JSON-plain copy of ``value`` (numpy scalars/arrays to lists), safe for weights-only files."""
    return json.loads(
        json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )


def save_torch_atomic(path: str | os.PathLike, obj: Mapping[str, Any]) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename. A failed write (torch
    reports a full disk as ``RuntimeError: ... unexpected pos``) raises
    :class:`~pfsdenoise.errors.OutputWriteError` naming ``path``; the previous file is kept."""
    with atomic_path(path) as tmp:
        try:
            torch.save(dict(obj), tmp)
        except RuntimeError as exc:
            free = shutil.disk_usage(tmp.parent).free
            need = sum(v.nbytes for v in _tensors(obj))
            full = free < need + (64 << 20)
            raise OutputWriteError(
                errno.ENOSPC if full else None,
                f"{path}: writing failed ({str(exc).splitlines()[0]}); "
                f"{free / 1e6:.0f} MB free on its device for ~{need / 1e6:.0f} MB: "
                + ("the disk is full: free space (or a quota) and rerun; " if full else "")
                + "the previous file, if any, is intact",
            ) from exc
    return Path(path)


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Every tensor inside nested dicts and lists."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _tensors(v)


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
    except (FileNotFoundError, PermissionError):
        raise
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError, AttributeError,
            IndexError) as exc:  # fmt: skip
        raise CheckpointError(
            f"{path}: not a readable torch checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); damaged or not written by "
            "pfsdenoise: retrain, or restore the file"
        ) from None
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


def check_payload(payload: Mapping[str, Any], path: Any) -> None:
    """Refuse a payload that is not a model file of this format (missing or mistyped
    entries, a newer version, a wavelength grid that is not 1-D and increasing)."""
    if payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a pfsdenoise model file (format {payload.get('format')!r})"
        )
    try:
        version = int(payload.get("format_version", -1))
    except (TypeError, ValueError):
        version = FORMAT_VERSION + 1
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: model format {payload.get('format_version')!r} is newer than this "
            f"pfsdenoise reads ({FORMAT_VERSION}); upgrade pfsdenoise"
        )
    for key, kind in REQUIRED.items():
        if not isinstance(payload.get(key), kind):
            raise CheckpointError(
                f"{path}: malformed model file: entry {key!r} is "
                f"{type(payload.get(key)).__name__ if key in payload else 'missing'}, expected "
                f"{kind.__name__}; retrain the model or restore the file"
            )
    wave = payload["wave"]
    if wave.ndim != 1 or wave.numel() < 2 or not bool(torch.all(torch.diff(wave) > 0)):
        raise CheckpointError(
            f"{path}: malformed model file: 'wave' must be an increasing 1-D wavelength array, "
            f"got shape {tuple(wave.shape)}"
        )
    if not all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values()):
        raise CheckpointError(f"{path}: malformed model file: 'state_dict' holds non-tensors")


def check_shapes(payload: Mapping[str, Any], path: Any, max_mb: float = MAX_MODEL_MB) -> None:
    """Compare the weights the hyper-parameters imply with the stored tensors, building the
    architecture on the ``meta`` device (no memory): refuse more than ``max_mb`` MB of
    weights, or stored tensors of other names or shapes."""
    arch, hyper, n_pix = payload["arch"], payload["hyper"], int(payload["wave"].numel())
    try:
        with torch.device("meta"):
            shapes = build_model(arch, n_pix, hyper).state_dict()
    except ConfigurationError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(
            f"{path}: hyper-parameters {hyper} cannot build architecture {arch!r} "
            f"({str(exc).splitlines()[0]})"
        ) from None
    implied = sum(t.numel() * t.element_size() for t in shapes.values())
    if implied > max_mb * 1e6:
        raise CheckpointError(
            f"{path}: hyper-parameters {hyper} imply {implied / 1e6:.4g} MB of weights, more "
            f"than the {max_mb:g} MB allowed; refused before building (a damaged or foreign "
            "file? if the model is genuine, raise the bound: max_mb)"
        )
    stored = payload["state_dict"]
    wrong = [
        f"{k}: {tuple(stored[k].shape) if k in stored else 'missing'} vs {tuple(t.shape)}"
        for k, t in shapes.items()
        if k not in stored or tuple(stored[k].shape) != tuple(t.shape)
    ]
    extra = sorted(set(stored) - set(shapes))
    if wrong or extra:
        raise CheckpointError(
            f"{path}: weights do not fit architecture {arch!r} with its stored hyper-parameters "
            f"({len(wrong)} tensors of other shapes, first {wrong[:1]}; unexpected {extra[:3]}); "
            "the file is damaged or inconsistent: retrain or restore it"
        )


def rebuild(
    payload: Mapping[str, Any], path: Any, arch: str | None = None, *, max_mb: float = MAX_MODEL_MB
) -> torch.nn.Module:
    """Build the model of a loaded payload and load its weights (errors name the file), after
    :func:`check_payload` and :func:`check_shapes`."""
    check_payload(payload, path)
    if arch is not None and payload["arch"] != arch:
        raise CheckpointError(
            f"{path}: a checkpoint of architecture {payload['arch']!r}, expected {arch!r}"
        )
    check_shapes(payload, path, max_mb)
    model = build_model(payload["arch"], int(payload["wave"].numel()), payload["hyper"])
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
