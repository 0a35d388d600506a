"""Input bit masks by plane name, and the bits of the output mask.

PFS masks are 32-bit integers whose plane names are header keys ``MP_<NAME> = <bit>`` (or
``HIERARCH MP_<NAME>``), e.g. ``MP_CR = 3`` means cosmic rays set 2³ (datamodel.txt, "Pixel mask
values"). Single-object files carry them in the MASK header, pfsArm/pfsMerged in the primary
header, pfsCalibrated/pfsCoadd in each target's METADATA YAML. Planes are looked up by name, so
files whose bit numbers differ are read alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

DEFAULT_REJECT: tuple[str, ...] = ("BAD", "CR", "SAT", "UNMASKEDNAN", "NO_DATA")
"""Planes rejected by default: those the Galactic Archaeology pipeline rejects when it fits the
MR arm (Subaru-PFS-GA/ga_pipeline, configs/gapipe/S25A_November2025/single_mr.py, commit
382d144: ``mask_flags`` BAD, CR, SAT, UNMASKEDNAN), and NO_DATA ("there are no good value for
this value", datamodel.txt)."""
PREFIX = "MP_"

# Bits of the output mask (DENOISED_MASK).
MASKED = 1
"""The input pixel was masked or unusable: the denoised value there is the model's inpainting."""
OUTSIDE_ARM = 2
"""The pixel lies outside the model's arm (MR red, 710–885 nm): no denoised value (NaN)."""
DOMAIN_WARNING = 4
"""The spectrum raised a domain warning (see the DENOISED_INFO table and the log)."""
NOT_DENOISED = 8
"""The spectrum was not denoised: not selected, or refused (the reason is in DENOISED_INFO)."""


def mask_planes(header: Mapping[str, Any]) -> dict[str, int]:
    """``{NAME: bit}`` from the ``MP_*`` keys of a header or a metadata mapping."""
    planes = {}
    for key, value in header.items():
        key = str(key).removeprefix("HIERARCH ").strip()
        if key.upper().startswith(PREFIX):
            planes[key[len(PREFIX) :].upper()] = int(value)
    return planes


def reject_bits(planes: Mapping[str, int], names: Iterable[str]) -> tuple[int, list[str]]:
    """The OR of the named planes' bits, and the names the file does not define."""
    bits, missing = 0, []
    for name in names:
        if name.upper() in planes:
            bits |= 1 << planes[name.upper()]
        else:
            missing.append(name)
    return bits, missing


def rejected(mask: np.ndarray, planes: Mapping[str, int], names: Iterable[str]) -> np.ndarray:
    """True where ``mask`` has a bit of a rejected plane set.

    Without any ``MP_*`` key every non-zero value is rejected: the bits cannot be named.
    """
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask
    mask = mask.astype(np.int64)
    if not planes:
        return mask != 0
    bits, _ = reject_bits(planes, names)
    return (mask & bits) != 0
