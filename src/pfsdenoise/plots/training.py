"""Training curves of one model from its ``history.csv``."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr")


def training_curves(history: pd.DataFrame, *, model: str, width: float = 7.0) -> Figure:
    """Training and validation loss (log scale) per epoch, learning rate on a second axis."""
    missing = [c for c in HISTORY_COLUMNS if c not in history]
    if missing:
        raise KeyError(f"training history of {model!r} lacks column(s) {missing}")
    fig = Figure(figsize=(width, width * 0.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(history["epoch"], history["train_loss"], marker="o", ms=3, label="training loss")
    ax.plot(history["epoch"], history["val_loss"], marker="s", ms=3, label="validation loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE of normalized flux)")
    ax.grid(alpha=0.3, which="both", lw=0.5)
    lr = ax.twinx()
    lr.plot(history["epoch"], history["lr"], color="0.5", lw=0.8, ls="--", label="learning rate")
    lr.set_ylabel("learning rate")
    lr.set_yscale("log")
    lines = ax.get_legend_handles_labels()
    more = lr.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8)
    ax.set_title(f"Training of {model}")
    return fig
