"""The training loop: epochs of augmented batches, validation, checkpoints, resume, model card.

Files in ``out_dir``: ``model.pt`` (the best-validation weights as a self-contained model file,
:mod:`.checkpoint`, with its provenance sidecar), ``history.csv`` (one row of metrics per epoch,
rewritten atomically each epoch; the same for the same config, seed and machine),
``timing.csv`` (wall clock and throughput per epoch), ``card.json`` (the model card), and
``state/last.pt`` + ``state/best.pt``. ``state/last.pt`` is written after every epoch; a rerun
of the same run (:mod:`.state`: settings, data and code) resumes from it, so a killed job loses
at most the epoch in progress.

The budget is a number of epochs (optionally early stopping on the validation loss). A
wall-clock cap (``max_minutes``) exists as an opt-in safety for cluster time limits only: it
makes the result depend on the machine's speed, and the model card says when it fired.

Training spectra come from the train shards or, as an option, straight from the grid
(:mod:`.generate`); with ``processes`` > 1 the run is data-parallel (:mod:`.distributed`: torchrun
ranks, DDP; rank 0 writes the files).
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pfsdenoise import __version__
from pfsdenoise.atomic import atomic_path, write_text_atomic
from pfsdenoise.learn.calibrate import calibrate_error
from pfsdenoise.learn.checkpoint import (
    CheckpointError,
    load_plain,
    model_payload,
    pick_device,
    plain,
    rebuild,
    save_torch_atomic,
)
from pfsdenoise.learn.data import (
    Augmentation,
    LoaderClock,
    ShardSet,
    TrainingData,
    open_shards,
    open_training_data,
    validation_batches,
)
from pfsdenoise.learn.distributed import Ranks, in_worker, join, launch
from pfsdenoise.learn.epoch import TrainingError, train_epoch, validate
from pfsdenoise.learn.models import build_model, count_parameters
from pfsdenoise.learn.optim import Ema, lr_factor, make_optimizer
from pfsdenoise.learn.prior import fit_model_prior
from pfsdenoise.learn.state import TrainingState, fingerprint, load_state
from pfsdenoise.logs import Progress
from pfsdenoise.provenance import file_checksum, read_record, write_sidecar
from pfsdenoise.seeding import derive_seed, make_rng
from pfsdenoise.shards import ShardError, read_shard

log = logging.getLogger(__name__)


@dataclass
class TrainingRun:
    """What one run is made of, built once: data, model, optimizer and the run's identity."""

    name: str
    spec: Mapping[str, Any]
    device: torch.device
    ranks: Ranks
    train_set: TrainingData
    val_set: ShardSet
    val_cache: list | None
    augment: Augmentation
    model: torch.nn.Module
    step_model: torch.nn.Module  # what the training step calls: the model, or DDP around it
    eval_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    base_lrs: list[float]
    ema: Ema | None
    teacher: torch.nn.Module | None
    steps_per_epoch: int
    fingerprint: str
    card: dict[str, Any]

    @property
    def epochs(self) -> int:
        return int(self.spec["epochs"])

    def set_lr(self, epoch: int, step: int) -> None:
        factor = lr_factor(self.spec["schedule"], epoch, step, self.epochs * self.steps_per_epoch)
        for group, lr0 in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = lr0 * factor

    def validation_batches(self):
        if self.val_cache is not None:
            return self.val_cache
        return validation_batches(self.val_set, _val_batch_size(self.spec))

    def averaged_model(self) -> torch.nn.Module:
        """The model validated and saved: the EMA weights when averaging, else the model."""
        if self.ema:
            self.eval_model.load_state_dict(self.ema.state_dict())
        return self.eval_model

    def model_file(self, weights: Mapping[str, torch.Tensor], card: Mapping) -> dict[str, Any]:
        return model_payload(
            self.model,
            arch=self.spec["arch"],
            hyper=self.spec["hyper"],
            wave=self.train_set.wave,
            normalization=self.train_set.metadata.get("normalization"),
            card=card,
            state_dict=weights,
        )


def train_model(
    name: str,
    spec: Mapping[str, Any],
    train_paths: Sequence[str | os.PathLike] | Mapping[str, Any],
    val_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    seed: int,
    augment: Mapping[str, Any],
    device: str | None,
    threads: int | None,
    shuffle_buffer: int,
    cache_mb: float,
    loader_workers: int,
    min_truth: float,
    provenance: Mapping[str, Any],
    processes: int,
    progress: bool = True,
    teacher: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train model ``name`` as configured in ``spec`` and write its files to ``out_dir``.

    ``spec`` keys: ``arch``, ``hyper``, ``epochs``, ``batch_size``, ``optimizer``,
    ``schedule``, ``ema`` (decay or null), ``amp`` (bf16 autocast on CUDA), ``clip_grad``
    (max gradient norm or null), ``early_stopping`` ({patience, min_delta}; patience 0 = off),
    ``max_minutes`` (opt-in wall-time cap or null), ``loss`` ({weighting, sigma_data}).
    ``train_paths``: the train shards, or the settings of the grid source (a mapping,
    :func:`.generate.open_grid_source`). ``processes`` > 1: that many data-parallel ranks,
    launched here by torchrun (:mod:`.distributed`), global batch ``batch_size``.
    ``teacher``: the model file whose denoised flux replaces the truth as the target
    (knowledge distillation). ``provenance`` is the job's record; its code hash joins the
    resume fingerprint. Returns the final metrics (also in the card).
    """
    out = Path(out_dir)
    (out / "state").mkdir(parents=True, exist_ok=True)
    if processes > 1 and not in_worker():
        train = train_paths if isinstance(train_paths, Mapping) else [str(p) for p in train_paths]
        arguments = {
            "name": name, "spec": dict(spec), "train_paths": train,
            "val_paths": [str(p) for p in val_paths], "out_dir": str(out), "seed": seed,
            "augment": dict(augment), "device": device, "threads": threads,
            "shuffle_buffer": shuffle_buffer, "cache_mb": cache_mb,
            "loader_workers": loader_workers, "min_truth": min_truth,
            "provenance": dict(provenance), "processes": processes, "progress": False,
            "teacher": None if teacher is None else str(teacher),
        }  # fmt: skip
        return launch(processes, arguments, out / "state")
    ranks = join(processes, pick_device(device))
    if threads:
        torch.set_num_threads(max(1, int(threads) // ranks.world))

    # Data, model and optimizer; the fingerprint names this exact run (settings, data, code).
    run = setup_run(
        name, spec, train_paths, val_paths,
        seed=seed, augment=augment, device=device, cache_mb=cache_mb, ranks=ranks,
        code_hash=provenance.get("code_hash"), card_provenance=provenance, teacher=teacher,
    )  # fmt: skip

    # Resume after the last completed epoch when the saved state belongs to this run.
    state = resume(run, out / "state" / "last.pt")

    # Epochs: augmented batches, validation on fixed realizations, checkpoint, history.
    patience = int(spec["early_stopping"]["patience"])
    min_delta = float(spec["early_stopping"]["min_delta"])
    for epoch in range(state.epoch, run.epochs):
        if state.finished:
            break
        if spec["max_minutes"] and state.elapsed >= 60.0 * spec["max_minutes"]:
            state.stopped = f"max_minutes ({spec['max_minutes']}) reached: wall-clock cap fired"
            break
        timing = run_epoch(run, state, epoch, seed, shuffle_buffer, loader_workers, progress)
        metrics = validate(run.averaged_model(), run.validation_batches(), run.device, min_truth)
        row = {"epoch": epoch + 1, "train_loss": timing.pop("train_loss"), **metrics,
               "lr": run.optimizer.param_groups[0]["lr"]}  # fmt: skip
        improved = state.record(row, timing, min_delta)
        if patience > 0 and state.bad_epochs >= patience:
            state.stopped = f"early stop: no val improvement > {min_delta} in {patience} epochs"
            state.finished = True
        if ranks.main:  # every rank holds the same weights and history; one writes them
            log_epoch(run, row, timing)
            save_epoch(run, state, out, improved)

    # The best epoch's model file, the history and timing, the card and the provenance.
    final = finish(run, state, out, provenance) if ranks.main else {}
    ranks.barrier()
    return final


def setup_run(
    name: str,
    spec: Mapping[str, Any],
    train_paths: Sequence[str | os.PathLike],
    val_paths: Sequence[str | os.PathLike],
    *,
    seed: int,
    augment: Mapping[str, Any],
    device: str | None,
    cache_mb: float,
    ranks: Ranks,
    code_hash: str | None,
    card_provenance: Mapping[str, Any],
    teacher: str | os.PathLike | None = None,
) -> TrainingRun:
    """Open and check the data, build the model (seeded), fit its prior to the training
    spectra (if it has one), build its optimizer, (data-parallel) the DDP wrapper, and load the
    teacher (if any)."""
    dev = ranks.device(pick_device(device))
    train_set = open_training_data(train_paths)
    val_set = open_shards(val_paths, expect_wave=train_set.wave, role="validation")
    cached = train_set.cache_if_small(cache_mb)
    # Prepared validation batches (5 float32-sized arrays per spectrum) are reused every epoch
    # when they fit in cache_mb (None: read again each epoch).
    val_fits = val_set.n_rows * val_set.wave.size * 20 / 1e6 <= cache_mb
    val_cache = list(validation_batches(val_set, _val_batch_size(spec))) if val_fits else None
    data = {"train": [shard_record(p) for p in train_set.paths],
            "val": [shard_record(p) for p in val_set.paths]}  # fmt: skip

    torch.manual_seed(derive_seed(seed, "train", name, "init"))
    model = build_model(spec["arch"], train_set.wave.size, spec["hyper"])
    fit_model_prior(model, train_set, seed)
    model = model.to(dev)
    teacher_model = _load_teacher(teacher, train_set.wave, dev) if teacher else None
    if teacher:
        data["teacher"] = [model_record(teacher)]
    optimizer = make_optimizer(model, spec["optimizer"])
    ema = Ema(model, spec["ema"]) if spec["ema"] else None
    n = train_set.n_rows
    batch_size = int(spec["batch_size"])
    steps_per_epoch = max(1, n // batch_size + (n % batch_size >= 2 * ranks.world))
    run_id = fingerprint(
        spec=spec, augment=augment, seed=seed, code=code_hash,
        shards={k: [d["checksum"] for d in v] for k, v in data.items()},
        # A state saved by an edited architecture (same settings, other layers) starts over.
        shapes={k: list(v.shape) for k, v in model.state_dict().items()},
    )  # fmt: skip
    log.info(
        "%s: %s, %d parameters, %d train (%s) / %d val spectra, device %s, %d threads, rank %d/%d",
        name, spec["arch"], count_parameters(model), n, train_set.describe(cached),
        val_set.n_rows, dev, torch.get_num_threads(), ranks.rank, ranks.world,
    )  # fmt: skip
    card = {
        "name": name,
        "arch": spec["arch"],
        "hyper": spec["hyper"],
        "n_parameters": count_parameters(model),
        "data": data,
        "wave": {"n_pix": int(train_set.wave.size), "min": float(train_set.wave[0]),
                 "max": float(train_set.wave[-1])},
        "snr": snr_range(train_set.paths),
        "normalization": train_set.metadata.get("normalization"),
        "config": {"model": spec, "augment": augment, "seed": seed},
        "pfsdenoise_version": __version__,
        "provenance": {k: card_provenance.get(k) for k in ("step", "code_hash", "version")},
    }  # fmt: skip
    eval_model = copy.deepcopy(model) if ema else model
    return TrainingRun(
        name=name, spec=spec, device=dev, ranks=ranks, train_set=train_set, val_set=val_set,
        val_cache=val_cache, augment=Augmentation(**augment), model=model,
        step_model=ranks.wrap(model, dev), eval_model=eval_model, optimizer=optimizer,
        base_lrs=[g["lr"] for g in optimizer.param_groups], ema=ema, teacher=teacher_model,
        steps_per_epoch=steps_per_epoch, fingerprint=run_id, card=card,
    )  # fmt: skip


def resume(run: TrainingRun, path: Path) -> TrainingState:
    """The saved state of this run with its weights loaded, or a fresh state; a state of this
    run written by another number of data-parallel ranks is refused."""
    loaded = load_state(path, run.fingerprint)
    if loaded is None:
        return TrainingState(world_size=run.ranks.world)
    state, weights = loaded
    if state.world_size != run.ranks.world:
        raise TrainingError(
            f"{path} was written by a run on {state.world_size} data-parallel process(es); this "
            f"run has {run.ranks.world}. Resume with train.processes = {state.world_size}, or "
            f"delete {path.parent} to start over with {run.ranks.world}"
        )
    best = path.with_name("best.pt")
    if state.best["epoch"] >= 0 and _run_of(best) != run.fingerprint:
        # A kill between the two writes of another run can leave its best.pt beside this
        # run's last.pt: the best weights would not be this run's.
        log.info("%s is from another run than %s; starting over", best, path)
        return TrainingState(world_size=run.ranks.world)
    run.model.load_state_dict(weights["model"])
    run.optimizer.load_state_dict(weights["optimizer"])
    if run.ema:
        run.ema.load_state_dict(weights["ema"])
    log.info("%s: resuming after epoch %d of %d (%s)", run.name, state.epoch, run.epochs, path)
    return state


def run_epoch(
    run: TrainingRun,
    state: TrainingState,
    epoch: int,
    seed: int,
    shuffle_buffer: int,
    loader_workers: int,
    progress: bool,
) -> dict[str, float]:
    """Train one epoch on fresh augmentations drawn from (seed, model, epoch); return its
    training loss and timing (all ranks together)."""
    t0 = time.perf_counter()
    ranks = run.ranks
    torch.manual_seed(derive_seed(seed, "train", run.name, "torch", epoch))
    rng = make_rng(seed, "train", run.name, "epoch", epoch)
    clock = LoaderClock()
    batches = run.train_set.batches(
        int(run.spec["batch_size"]), rng, run.augment, shuffle_buffer=shuffle_buffer,
        clock=clock, workers=loader_workers, rank=ranks.rank, world=ranks.world,
        device=run.device,
    )  # fmt: skip
    bar = Progress(
        run.train_set.n_rows // ranks.world, f"{run.name} {epoch + 1}/{run.epochs}",
        enabled=progress and ranks.main,
    )  # fmt: skip

    def after_step(step: int) -> None:
        if run.ema:
            run.ema.update(run.model, step)

    result = train_epoch(
        run.step_model, run.optimizer, batches, device=run.device,
        set_lr=lambda step: run.set_lr(epoch, step), first_step=state.step,
        amp=bool(run.spec["amp"]) and run.device.type == "cuda",
        clip_grad=run.spec["clip_grad"], after_step=after_step, progress=bar,
        where=f"{run.name}: at epoch {epoch + 1}", loss=run.spec["loss"], teacher=run.teacher,
        mean=ranks.mean,
    )  # fmt: skip
    state.step += result.steps
    loss_sum, n_seen = ranks.total(result.loss * result.n_seen, result.n_seen)
    return {
        "train_loss": loss_sum / max(n_seen, 1),
        "epoch": epoch + 1,
        "wall_s": time.perf_counter() - t0,
        "samples_per_s": n_seen / result.seconds if result.seconds else float("nan"),
        "loader_samples_per_s": clock.rate * ranks.world,
    }


def log_epoch(run: TrainingRun, row: Mapping[str, Any], timing: Mapping[str, Any]) -> None:
    log.info(
        "%s epoch %d/%d: train %.4g val %.4g rel %.4f (noisy %.4f) lr %.3g %.1f s %.0f samples/s",
        run.name, row["epoch"], run.epochs, row["train_loss"], row["val_loss"],
        row["val_rel_err"], row["noisy_rel_err"], row["lr"], timing["wall_s"],
        timing["samples_per_s"],
    )  # fmt: skip


def save_epoch(run: TrainingRun, state: TrainingState, out: Path, improved: bool) -> None:
    """Best weights (when improved), then the full state, then the history and timing: a kill
    between them leaves the history one epoch behind the state, never ahead."""
    weights = {k: v.detach().clone() for k, v in run.eval_model.state_dict().items()}
    if improved:
        best = {**run.model_file(weights, run.card), "run_fingerprint": run.fingerprint}
        save_torch_atomic(out / "state" / "best.pt", best)
    save_torch_atomic(
        out / "state" / "last.pt",
        state.to_payload(
            {
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "ema": run.ema.state_dict() if run.ema else None,
            },
            run.fingerprint,
        ),
    )
    _write_csv(out / "history.csv", state.history)
    _write_csv(out / "timing.csv", state.timing)


def finish(
    run: TrainingRun, state: TrainingState, out: Path, provenance: Mapping[str, Any]
) -> dict[str, Any]:
    """Write the model file of the best epoch with the card and its provenance sidecar.

    Also when no epoch was left to run: Snakemake deleted the declared outputs of the job it
    reruns, so a resumed finished state must still leave history, card and model behind.
    """
    _write_csv(out / "history.csv", state.history)
    _write_csv(out / "timing.csv", state.timing)
    if state.best["epoch"] < 0:
        raise TrainingError(
            f"{run.name}: no epoch completed (epochs={run.epochs}, "
            f"max_minutes={run.spec['max_minutes']})"
        )
    final = {
        **{k: v for k, v in state.best.items() if k != "epoch"},
        "best_epoch": state.best["epoch"],
        "epochs_run": len(state.history),
        "wall_s": state.elapsed,
        "train_samples_per_s": float(np.median([t["samples_per_s"] for t in state.timing])),
        "loader_samples_per_s": float(np.median([t["loader_samples_per_s"] for t in state.timing])),
        "device": str(run.device),
        "threads": torch.get_num_threads(),
        "stopped": state.stopped,
    }
    card = plain(
        {**run.card, "metrics": final,
         "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    )  # fmt: skip
    best = load_plain(out / "state" / "best.pt")
    best.pop("run_fingerprint", None)
    if getattr(run.model, "has_error", False):
        final["error_scale"] = calibrate_best(run, best)
        card["metrics"] = plain(final)
    best["card"] = card
    save_torch_atomic(out / "model.pt", best)
    write_sidecar(out / "model.pt", provenance)
    write_text_atomic(out / "card.json", json.dumps(card, indent=2, sort_keys=True) + "\n")
    return final


def _run_of(path: Path) -> str | None:
    """The fingerprint of the run that wrote a ``best.pt`` (None when unreadable)."""
    try:
        return load_plain(path).get("run_fingerprint") if path.exists() else None
    except CheckpointError:
        return None


def calibrate_best(run: TrainingRun, best: dict[str, Any]) -> list[float]:
    """Calibrate the best epoch's σ̂ on the validation spectra (:mod:`.calibrate`), in place in
    its model-file payload; return the factors per S/N bin."""
    model = rebuild(best, "state/best.pt").to(run.device)
    scales = calibrate_error(model, run.validation_batches(), run.device)
    best["state_dict"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return scales


def shard_record(path: str) -> dict[str, Any]:
    """A shard's identity for the model card: checksum and its provenance record's checksum."""
    record = read_record(path)
    rec_sum = (
        "sha256:" + hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        if record
        else None
    )
    return {
        "path": str(path),
        "checksum": file_checksum(path),
        "provenance_checksum": rec_sum,
        "provenance_step": (record or {}).get("step"),
        "provenance_seed": (record or {}).get("seed"),
        "provenance_code_hash": (record or {}).get("code_hash"),
    }


def snr_range(paths: Sequence[str]) -> dict[str, float] | None:
    """S/N of the training spectra (shard column ``snr``) for the model card: the user-facing
    denoiser warns about inputs outside it. None when a shard has no ``snr`` column."""
    try:
        values = np.concatenate([read_shard(p, columns=["snr"]).params["snr"] for p in paths])
    except ShardError:
        return None
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    return {
        "min": float(values.min()),
        "median": float(np.median(values)),
        "max": float(values.max()),
    }


def model_record(path: str | os.PathLike) -> dict[str, Any]:
    """A teacher model file's identity for the model card and the resume fingerprint."""
    return {"path": str(path), "checksum": file_checksum(path)}


def _load_teacher(path: str | os.PathLike, wave: np.ndarray, device: torch.device):
    """The teacher network (eval mode, on ``device``), checked to share the shards' grid."""
    payload = load_plain(path)
    model = rebuild(payload, path).to(device).eval()
    if payload["wave"].numel() != wave.size or not np.allclose(
        payload["wave"].numpy(), wave, rtol=0, atol=1e-6
    ):
        raise TrainingError(
            f"teacher {path}: its wavelength grid differs from the training shards'"
        )
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _val_batch_size(spec: Mapping[str, Any]) -> int:
    return max(int(spec["batch_size"]), 64)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
