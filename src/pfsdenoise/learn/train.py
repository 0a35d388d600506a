"""The training loop: epochs of augmented batches, validation, checkpoints, resume, model card.

Files in ``out_dir``: ``model.pt`` (the best-validation weights as a self-contained model file,
:mod:`.checkpoint`), ``history.csv`` (one row per epoch, rewritten atomically each epoch),
``card.json`` (the model card), and ``state/last.pt`` + ``state/best.pt``. ``state/last.pt`` is
written after every epoch; a rerun with the same configuration and shards resumes from it (a
killed job loses at most the epoch in progress). A changed configuration or data set starts over.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pfsdenoise import __version__
from pfsdenoise.atomic import atomic_path, write_text_atomic
from pfsdenoise.learn.checkpoint import (
    CheckpointError,
    load_plain,
    model_payload,
    pick_device,
    plain,
    save_torch_atomic,
)
from pfsdenoise.learn.data import (
    Augmentation,
    Batch,
    LoaderClock,
    open_shards,
    training_batches,
    validation_batches,
)
from pfsdenoise.learn.models import build_model, count_parameters
from pfsdenoise.learn.optim import Ema, lr_factor, make_optimizer
from pfsdenoise.provenance import file_checksum, read_record
from pfsdenoise.seeding import derive_seed, make_rng

log = logging.getLogger(__name__)

STATE_FORMAT = "pfsdenoise-train-state"
MIN_TRUTH = 0.01
"""Pixels with noiseless flux below this (normalized) are left out of the relative error, as in
the evaluation's ``metrics.min_truth``."""


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, ...); the message says where."""


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the pixels with weight 1 (unmasked)."""
    return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp_min(1.0)


def relative_error(pred: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-spectrum mean of |pred − truth| / truth over unmasked pixels with truth > MIN_TRUTH."""
    use = (weight > 0) & (target > MIN_TRUTH)
    rel = np.where(use, np.abs(pred - target) / np.where(use, target, 1.0), 0.0)
    return rel.sum(axis=1) / np.maximum(use.sum(axis=1), 1)


def _tensors(batch: Batch, device: torch.device) -> list[torch.Tensor]:
    arrays = (batch.flux, batch.sigma, batch.mask, batch.target, batch.weight)
    return [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays]


def _diagnose(model: torch.nn.Module, named: Mapping[str, torch.Tensor], where: str) -> str:
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


@torch.no_grad()
def validate(
    model: torch.nn.Module, batches: Iterable[Batch], device: torch.device
) -> dict[str, float]:
    """Masked MSE and mean relative error on the fixed validation realizations."""
    model.eval()
    sq = n_pix = 0.0
    rel: list[np.ndarray] = []
    rel_in: list[np.ndarray] = []
    for batch in batches:
        flux, sigma, mask, target, weight = _tensors(batch, device)
        pred = model(flux, sigma, mask).float()
        sq += float(((pred - target) ** 2 * weight).sum())
        n_pix += float(weight.sum())
        p = pred.cpu().numpy()
        rel.append(relative_error(p, batch.target, batch.weight))
        rel_in.append(relative_error(batch.flux, batch.target, batch.weight))
    return {
        "val_loss": sq / max(n_pix, 1.0),
        "val_rel_err": float(np.mean(np.concatenate(rel))),
        "noisy_rel_err": float(np.mean(np.concatenate(rel_in))),
    }


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


def _fingerprint(spec: Mapping, augment: Mapping, seed: int, data: Mapping) -> str:
    text = json.dumps(
        plain({"spec": spec, "augment": augment, "seed": seed, "data": data}), sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(history).to_csv(tmp, index=False, float_format="%.6g")


def _load_state(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        state = load_plain(path)
    except CheckpointError as exc:
        log.warning("cannot resume: %s; starting over", exc)
        return None
    if state.get("format") != STATE_FORMAT or state.get("fingerprint") != fingerprint:
        log.info("%s is from another configuration or data set; starting over", path)
        return None
    return state


def train_model(
    name: str,
    spec: Mapping[str, Any],
    train_paths: Sequence[str | os.PathLike],
    val_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    seed: int,
    augment: Mapping[str, Any],
    device: str | None = "auto",
    threads: int | None = None,
    shuffle_buffer: int = 4096,
    cache_mb: float = 2000.0,
    loader_workers: int = 2,
    progress: bool = True,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train model ``name`` as configured in ``spec`` and write its files to ``out_dir``.

    ``spec`` keys: ``arch``, ``hyper``, ``epochs``, ``batch_size``, ``optimizer``,
    ``schedule``, ``ema`` (decay or null), ``amp`` (bf16 autocast on CUDA), ``clip_grad``
    (max gradient norm or null), ``early_stopping`` ({patience, min_delta}; patience 0 = off),
    ``max_minutes`` (wall-time cap or null). Training shards up to ``cache_mb`` are held in
    memory across epochs, larger ones streamed. Returns the final metrics (also in the card).
    """
    from tqdm import tqdm

    out = Path(out_dir)
    (out / "state").mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(int(threads))
    dev = pick_device(device)
    train_set = open_shards(train_paths, role="train")
    val_set = open_shards(val_paths, expect_wave=train_set.wave, role="validation")
    aug = Augmentation(**augment)
    cached = train_set.cache_if_small(cache_mb)
    val_batch_size = max(int(spec["batch_size"]), 64)
    # Prepared validation batches (5 float32-sized arrays per spectrum) are reused every epoch
    # when they fit in cache_mb (None: read again each epoch).
    val_fits = val_set.n_rows * val_set.wave.size * 20 / 1e6 <= cache_mb
    val_cache = list(validation_batches(val_set, val_batch_size)) if val_fits else None
    data = {
        "train": [shard_record(p) for p in train_set.paths],
        "val": [shard_record(p) for p in val_set.paths],
    }
    torch.manual_seed(derive_seed(seed, "train", name, "init"))
    n_pix = train_set.wave.size
    model = build_model(spec["arch"], n_pix, spec["hyper"]).to(dev)
    # The parameter shapes join the fingerprint: a state saved by an edited architecture (same
    # settings, other layers) is not resumed but started over.
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    fingerprint = _fingerprint(
        spec,
        augment,
        seed,
        {"shards": {k: [d["checksum"] for d in v] for k, v in data.items()}, "shapes": shapes},
    )
    opt = make_optimizer(model, spec["optimizer"])
    base_lrs = [g["lr"] for g in opt.param_groups]
    ema = Ema(model, spec["ema"]) if spec.get("ema") else None
    eval_model = copy.deepcopy(model) if ema else model
    batch_size = int(spec["batch_size"])
    epochs = int(spec["epochs"])
    steps_per_epoch = max(1, train_set.n_rows // batch_size + (train_set.n_rows % batch_size >= 2))
    total_steps = epochs * steps_per_epoch
    amp = bool(spec.get("amp")) and dev.type == "cuda"
    patience = int(spec.get("early_stopping", {}).get("patience", 0))
    min_delta = float(spec.get("early_stopping", {}).get("min_delta", 0.0))
    max_seconds = 60.0 * spec["max_minutes"] if spec.get("max_minutes") else None

    history: list[dict[str, Any]] = []
    start_epoch = step = bad_epochs = 0
    best = {"val_loss": float("inf"), "epoch": -1}
    elapsed = 0.0
    stopped = "epochs"
    state = _load_state(out / "state" / "last.pt", fingerprint)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if ema:
            ema.load_state_dict(state["ema"])
        history, best = list(state["history"]), dict(state["best"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
        bad_epochs, elapsed = int(state["bad_epochs"]), float(state["elapsed"])
        stopped = state.get("stopped") or stopped
        log.info(
            "%s: resuming after epoch %d of %d (%s)",
            name,
            start_epoch,
            epochs,
            out / "state/last.pt",
        )
        if state.get("finished"):
            start_epoch = epochs
    normalization = train_set.metadata.get("normalization")
    log.info(
        "%s: %s, %d parameters, %d train (%s) / %d val spectra, device %s, %d threads",
        name,
        spec["arch"],
        count_parameters(model),
        train_set.n_rows,
        "in memory" if cached else "streamed",
        val_set.n_rows,
        dev,
        torch.get_num_threads(),
    )

    def payload(weights: Mapping[str, torch.Tensor], card: Mapping[str, Any]) -> dict[str, Any]:
        return model_payload(
            model,
            arch=spec["arch"],
            hyper=spec["hyper"],
            wave=train_set.wave,
            normalization=normalization,
            card=card,
            state_dict=weights,
        )

    card_base = {
        "name": name,
        "arch": spec["arch"],
        "hyper": spec["hyper"],
        "n_parameters": count_parameters(model),
        "data": data,
        "wave": {"n_pix": n_pix, "min": float(train_set.wave[0]), "max": float(train_set.wave[-1])},
        "normalization": normalization,
        "config": {"model": spec, "augment": augment, "seed": seed},
        "pfsdenoise_version": __version__,
        "provenance": provenance or {},
    }

    for epoch in range(start_epoch, epochs):
        if max_seconds is not None and elapsed >= max_seconds:
            stopped = f"max_minutes ({spec['max_minutes']}) reached"
            break
        t_epoch = time.perf_counter()
        torch.manual_seed(derive_seed(seed, "train", name, "torch", epoch))
        rng = make_rng(seed, "train", name, "epoch", epoch)
        clock = LoaderClock()
        model.train()
        loss_sum = n_seen = 0.0
        bar = tqdm(
            total=train_set.n_rows,
            desc=f"{name} {epoch + 1}/{epochs}",
            unit="spec",
            disable=not progress,
            mininterval=2.0,
            leave=False,
        )
        batches = training_batches(
            train_set, batch_size, rng, aug, shuffle_buffer, clock, loader_workers
        )
        for b_idx, batch in enumerate(batches):
            factor = lr_factor(spec["schedule"], epoch, step, total_steps)
            for group, lr0 in zip(opt.param_groups, base_lrs, strict=True):
                group["lr"] = lr0 * factor
            flux, sigma, mask, target, weight = _tensors(batch, dev)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                pred = model(flux, sigma, mask)
            loss = masked_mse(pred.float(), target, weight)
            if not torch.isfinite(loss):
                where = (
                    f"at epoch {epoch + 1}, batch {b_idx + 1} (spectra {list(batch.ids[:3])}...)"
                )
                raise TrainingError(
                    f"{name}: "
                    + _diagnose(
                        model,
                        {
                            "input flux": flux,
                            "input sigma": sigma,
                            "target": target,
                            "prediction": pred,
                        },
                        where,
                    )
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if spec.get("clip_grad"):
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(spec["clip_grad"]))
            opt.step()
            step += 1
            if ema:
                ema.update(model, step)
            loss_sum += float(loss.detach()) * len(batch)
            n_seen += len(batch)
            bar.update(len(batch))
            bar.set_postfix(
                loss=f"{loss_sum / n_seen:.3g}",
                sps=f"{n_seen / (time.perf_counter() - t_epoch):.0f}",
            )
        bar.close()
        train_seconds = time.perf_counter() - t_epoch
        if ema:
            eval_model.load_state_dict(ema.state_dict())
        metrics = validate(
            eval_model,
            val_cache if val_cache is not None else validation_batches(val_set, val_batch_size),
            dev,
        )
        wall = time.perf_counter() - t_epoch
        elapsed += wall
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(n_seen, 1),
            **metrics,
            "lr": opt.param_groups[0]["lr"],
            "wall_s": wall,
            "elapsed_s": elapsed,
            "samples_per_s": n_seen / train_seconds,
            "loader_samples_per_s": clock.rate,
        }
        history.append(row)
        log.info(
            "%s epoch %d/%d: train %.4g val %.4g rel %.4f (noisy %.4f) lr %.3g %.1f s %.0f samples/s",
            name,
            epoch + 1,
            epochs,
            row["train_loss"],
            row["val_loss"],
            row["val_rel_err"],
            row["noisy_rel_err"],
            row["lr"],
            wall,
            row["samples_per_s"],
        )
        weights = {k: v.detach().clone() for k, v in eval_model.state_dict().items()}
        if row["val_loss"] < best["val_loss"] - min_delta:
            best = {"val_loss": row["val_loss"], "epoch": epoch + 1, **metrics}
            bad_epochs = 0
            save_torch_atomic(out / "state" / "best.pt", payload(weights, card_base))
        else:
            bad_epochs += 1
        done = patience > 0 and bad_epochs >= patience
        if done:
            stopped = f"early stop: no val improvement > {min_delta} in {patience} epochs"
        save_torch_atomic(
            out / "state" / "last.pt",
            {
                "format": STATE_FORMAT,
                "fingerprint": fingerprint,
                "arch": spec["arch"],
                "epoch": epoch + 1,
                "step": step,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "ema": ema.state_dict() if ema else None,
                "history": plain(history),
                "best": plain(best),
                "bad_epochs": bad_epochs,
                "elapsed": elapsed,
                "finished": done,
                "stopped": stopped,
            },
        )
        # After the state: a kill between the two leaves the history one epoch behind, never ahead.
        _write_history(out / "history.csv", history)
        if done:
            break

    # Also when nothing was left to run: a rerun that resumes a finished state (Snakemake deleted
    # the declared outputs of the job it reruns) must still leave the history behind.
    _write_history(out / "history.csv", history)
    if best["epoch"] < 0:
        raise TrainingError(
            f"{name}: no epoch completed (epochs={epochs}, max_minutes={spec.get('max_minutes')})"
        )
    final = {
        **{k: v for k, v in best.items() if k != "epoch"},
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "wall_s": elapsed,
        "train_samples_per_s": float(np.median([h["samples_per_s"] for h in history])),
        "loader_samples_per_s": float(np.median([h["loader_samples_per_s"] for h in history])),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "stopped": stopped,
    }
    card = plain(
        {
            **card_base,
            "metrics": final,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    )
    best_payload = load_plain(out / "state" / "best.pt")
    best_payload["card"] = card
    save_torch_atomic(out / "model.pt", best_payload)
    write_text_atomic(out / "card.json", json.dumps(card, indent=2, sort_keys=True) + "\n")
    return final
