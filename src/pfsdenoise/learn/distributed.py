"""Data-parallel training: ``processes`` ranks launched by torchrun, gradients averaged by DDP.

:func:`launch` runs ``python -m torch.distributed.run --standalone --nproc-per-node N`` with this
module as the worker: each rank calls :func:`pfsdenoise.learn.train.train_model` with the same
arguments, joins the process group (:func:`join`: NCCL on CUDA, one GPU per rank; gloo on CPU)
and trains on its rows of every global batch (:func:`pfsdenoise.learn.data.rank_rows`). The
random draws are made for the whole batch and the loss is normalized by the masked-pixel count
of the whole batch (:meth:`Ranks.mean`), so the averaged gradient is that of one process with
the same global batch: the loss curves agree to float rounding
(tests/learn/test_distributed.py). Batch norms become SyncBatchNorm on CUDA; on CPU (no
SyncBatchNorm there) each rank normalizes with its own rows, and dropout draws differ per rank.

Rank 0 writes the state, history and model files; a rerun resumes from ``state/last.pt``. A
rank that dies makes torchrun stop the others and the job fail with the rank named
(:class:`DistributedError`); a launcher or torchrun killed outright takes the ranks with it
(:func:`die_with_parent`); a state written by another number of ranks is refused (its random
streams and reductions differ).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.learn.epoch import masked_mean

log = logging.getLogger(__name__)

LAUNCH_FILE = "launch.json"  # in the run's state folder: the arguments every rank reads


class DistributedError(RuntimeError):
    """A data-parallel run that cannot start or did not finish; the message says which rank."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run (rank 0 of 1 when there is none)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean(self, values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """This rank's share of the batch loss, the mean of the per-pixel loss ``values`` over
        the whole batch's unmasked pixels, scaled so that DDP's mean of the ranks' gradients is
        the gradient of the batch's loss (:func:`.epoch.masked_mean` of one process: summed
        over the batch's unmasked pixels, divided by their number)."""
        if self.world == 1:
            return masked_mean(values, weight)
        total = (values * weight).sum()
        pixels = weight.sum().detach()
        dist.all_reduce(pixels)
        return total * self.world / pixels.clamp_min(1.0)

    def total(self, *values: float) -> list[float]:
        """The sums of ``values`` over the ranks."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def device(self, device: torch.device) -> torch.device:
        """The rank's device: its own GPU (cuda:local_rank) on CUDA."""
        if device.type == "cuda" and self.world > 1:
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """The module the training step calls: DDP around ``model`` (SyncBatchNorm on CUDA)."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            return DistributedDataParallel(model, device_ids=[device.index])
        return DistributedDataParallel(model)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def in_worker() -> bool:
    """Whether this process is a rank that torchrun started."""
    return "TORCHELASTIC_RUN_ID" in os.environ and "LOCAL_RANK" in os.environ


def join(processes: int, device: torch.device) -> Ranks:
    """This process's :class:`Ranks`: joins the process group inside a torchrun worker."""
    if processes == 1:
        return Ranks()
    world = int(os.environ["WORLD_SIZE"])
    if world != processes:
        raise DistributedError(
            f"torchrun started {world} processes but train.processes is {processes}: "
            f"launch with --nproc-per-node={processes}"
        )
    if device.type == "cuda" and torch.cuda.device_count() < int(os.environ["LOCAL_WORLD_SIZE"]):
        raise DistributedError(
            f"{os.environ['LOCAL_WORLD_SIZE']} ranks on this node but only "
            f"{torch.cuda.device_count()} GPUs visible: request one GPU per process "
            "(train.resources.gpu = train.processes)"
        )
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ["LOCAL_RANK"]))


def launch(processes: int, arguments: Mapping[str, Any], state_dir: Path) -> dict[str, Any]:
    """Train with ``processes`` torchrun ranks; ``arguments`` are ``train_model``'s (JSON).

    The ranks' output goes to this process's log; returns the final metrics (the model card's).
    Raises :class:`DistributedError` naming the rank that failed.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    args_file = state_dir / LAUNCH_FILE
    write_text_atomic(args_file, json.dumps(dict(arguments), indent=1, sort_keys=True) + "\n")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={processes}", "--max-restarts=0",
        "-m", "pfsdenoise.learn.distributed", str(args_file),
    ]  # fmt: skip
    log.info("launching %d data-parallel ranks: %s", processes, " ".join(command))
    tail: deque[str] = deque(maxlen=40)
    per_rank = max(1, int(arguments["threads"] or 1) // processes)  # the job's cores, shared
    env = {**os.environ, "OMP_NUM_THREADS": str(per_rank)}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        preexec_fn=lambda: die_with_parent(signal.SIGTERM),  # torchrun then stops its ranks
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip())
            log.info("%s", line.rstrip())
    if proc.returncode != 0:
        raise DistributedError(_failure(processes, proc.returncode, list(tail), state_dir))
    card = json.loads((Path(arguments["out_dir"]) / "card.json").read_text())
    return card["metrics"]


def die_with_parent(sig: int) -> None:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux; elsewhere a
    no-op). torchrun starts each rank in a session of its own, so a rank would outlive a
    launcher killed outright; with this it cannot."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, int(sig))  # PR_SET_PDEATHSIG


def _failure(processes: int, code: int, tail: list[str], state_dir: Path) -> str:
    """What went wrong, from torchrun's failure summary: the rank that died (killed by a
    signal other than the SIGTERM torchrun stops the others with; else torchrun's "root
    cause", the first failure it saw), then the other ranks' exits."""
    text = "\n".join(tail)
    found = dict(re.findall(r"rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", text, re.S)[::-1])
    exits = {int(r): int(c) for r, c in found.items()}
    cause_text = text.rpartition("Root Cause")[2]
    root = re.search(r"rank\s*:\s*(\d+)", cause_text)
    killed = [r for r, c in exits.items() if c < 0 and c != -signal.SIGTERM]
    first = killed[0] if killed else (int(root.group(1)) if root else None)

    def how(c: int) -> str:
        return f"signal {-c}" if c < 0 else f"exit code {c}"

    if first is None:
        what = f"torchrun exited with {code}"
    else:
        others = ", ".join(f"rank {r}: {how(c)}" for r, c in sorted(exits.items()) if r != first)
        what = f"rank {first} of {processes} failed ({how(exits[first])})" + (
            f"; then {others}" if others else ""
        )
    errors = [line for line in tail if "Error" in line]
    return (
        f"data-parallel training stopped: {what}; torchrun stopped the other ranks. "
        f"{state_dir / 'last.pt'} keeps the last completed epoch: rerun to resume. "
        f"Last error lines: {' | '.join(errors[-3:]) or text[-300:]}"
    )


def _worker(args_file: str) -> None:
    """One rank: read the launch arguments, train."""
    from pfsdenoise.learn.train import train_model

    die_with_parent(signal.SIGKILL)
    arguments = json.loads(Path(args_file).read_text())
    rank = os.environ.get("RANK", "?")
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s rank {rank} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        train_model(**arguments)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    from torch.distributed.elastic.multiprocessing.errors import record

    record(_worker)(sys.argv[1])
