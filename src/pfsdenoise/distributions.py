"""The parameter distributions of config ``sampling`` (uniform, beta, normal, fixed, choice):
their support, without scipy, for the sampler and for configuration checks alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def support(spec: Mapping[str, Any]) -> tuple[float, float]:
    """The interval a distribution draws from (``-inf``/``inf`` for an untruncated normal)."""
    kind = spec.get("dist")
    if kind in ("uniform", "beta"):
        return float(spec["low"]), float(spec["high"])
    if kind == "normal":
        return float(spec.get("low", float("-inf"))), float(spec.get("high", float("inf")))
    if kind in ("fixed", "choice"):
        values = [spec["value"]] if kind == "fixed" else list(spec["values"])
        return float(min(values)), float(max(values))
    raise ValueError(f"unknown distribution {kind!r}; use uniform, beta, normal, fixed, choice")


def values_of(spec: Mapping[str, Any]) -> list[float] | None:
    """The values a discrete distribution draws (fixed, choice); None for continuous ones."""
    if spec.get("dist") == "fixed":
        return [spec["value"]]
    if spec.get("dist") == "choice":
        return list(spec["values"])
    return None
