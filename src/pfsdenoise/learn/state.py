"""The resumable state of a training run: where it is, what it has seen, which run it belongs to.

``state/last.pt`` holds a :class:`TrainingState` with the model, optimizer and EMA weights after
the last completed epoch. A rerun resumes from it only when its fingerprint matches: the model's
settings, the augmentation, the seed, the shards' checksums, the parameter shapes the code
builds, and the hash of the training code itself. Any change starts over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pfsdenoise.learn.checkpoint import CheckpointError, load_plain, plain

log = logging.getLogger(__name__)

STATE_FORMAT = "pfsdenoise-train-state"


def fingerprint(**parts: Any) -> str:
    """Short hash of everything that defines a run (plain JSON values)."""
    text = json.dumps(plain(parts), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class TrainingState:
    """Progress of a run: completed epochs and optimizer steps, per-epoch history (metrics) and
    timing (wall clock, throughput: kept apart so the history is reproducible), the best epoch
    so far, epochs without improvement, why training stopped, and its number of ranks."""

    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    timing: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"val_loss": float("inf"), "epoch": -1})
    bad_epochs: int = 0
    elapsed: float = 0.0
    stopped: str = "epochs"
    finished: bool = False
    world_size: int = 1  # data-parallel ranks that trained it (resumed only with as many)

    def record(self, row: Mapping[str, Any], timing: Mapping[str, Any], min_delta: float) -> bool:
        """Append one epoch's metrics and timing; return whether it is the best so far."""
        self.epoch = int(row["epoch"])
        self.history.append(dict(row))
        self.timing.append(dict(timing))
        self.elapsed += float(timing["wall_s"])
        if row["val_loss"] < self.best["val_loss"] - min_delta:
            self.best = {k: v for k, v in row.items() if k not in ("train_loss", "lr")}
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        return False

    def to_payload(self, weights: Mapping[str, Any], run_fingerprint: str) -> dict[str, Any]:
        """The content of ``state/last.pt``: this state, the weights and the fingerprint."""
        return {"format": STATE_FORMAT, "fingerprint": run_fingerprint, **plain(asdict(self)),
                **weights}  # fmt: skip


WEIGHT_KEYS = ("model", "optimizer", "ema")


def load_state(path: Path, run_fingerprint: str) -> tuple[TrainingState, dict[str, Any]] | None:
    """The saved state and its weights when ``path`` holds a state of this very run."""
    if not path.exists():
        return None
    try:
        saved = load_plain(path)
    except CheckpointError as exc:
        log.warning("cannot resume: %s; starting over", exc)
        return None
    if saved.get("format") != STATE_FORMAT or saved.get("fingerprint") != run_fingerprint:
        log.info("%s is from another configuration, data set or code; starting over", path)
        return None
    fields_ = {k: saved[k] for k in TrainingState.__dataclass_fields__ if k in saved}
    return TrainingState(**fields_), {k: saved.get(k) for k in WEIGHT_KEYS}
