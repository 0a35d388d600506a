"""Denoise one file: read it, denoise its spectra in their units, check them, write the result.

Each spectrum is denoised on its own wavelength array; one that cannot be (no MR coverage,
coarse sampling, no positive flux) is reported and left NaN, the others are written. Reader notes
(variances square-rooted, units) and domain warnings go to the log and into the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pfsdenoise.denoise.api import SpectrumDenoiser
from pfsdenoise.denoise.checks import domain_warnings, snr, unit_warnings
from pfsdenoise.denoise.formats import read_input
from pfsdenoise.denoise.inputs import InputSpectra, ReadOptions, describe, select
from pfsdenoise.denoise.masks import DOMAIN_WARNING, MASKED, NOT_DENOISED, OUTSIDE_ARM
from pfsdenoise.denoise.output import Outcome, Result, write_output
from pfsdenoise.denoise.units import flux_kind

log = logging.getLogger(__name__)


def card_checksum(card: Mapping[str, Any]) -> str:
    """sha256 of the model card as canonical JSON."""
    text = json.dumps(card, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _unit_note(src: InputSpectra) -> str:
    kind = flux_kind(src.flux_unit)
    conversion = {
        "f_nu": "f_nu: converted to f_lambda (x c/lambda^2) for the model and back",
        "f_lambda": "f_lambda: a scale of the model's unit, used as it is",
        "counts": "uncalibrated counts, used as they are",
        "unknown": "unit unknown: treated as f_lambda (pass --flux-unit if it is f_nu)",
    }[kind]
    medium = "air, converted to vacuum" if src.air else "vacuum"
    return f"wavelength {src.wave_unit} ({medium}); flux {src.flux_unit or '?'} ({conversion})"


def denoise_spectra(model: SpectrumDenoiser, src: InputSpectra, batch_size: int = 256) -> Result:
    """Denoise every spectrum of ``src`` and check it (see the module docstring)."""
    res = model.denoise_units(
        src.wave,
        src.flux,
        src.sigma,
        src.mask,
        wave_unit=src.wave_unit,
        flux_unit=src.flux_unit,
        air=src.air,
        batch_size=batch_size,
        source=str(src.path),
        errors="flag",
    )
    file_warns = unit_warnings(flux_kind(src.flux_unit), src.flux_unit)
    for text in file_warns:  # once per file; every spectrum carries it in the output
        log.warning("%s: %s", src.path, text)
    flux, bits, sigma, outcomes = [], [], [], []
    for i, (f, s, m) in enumerate(zip(src.flux, src.sigma, src.mask, strict=True)):
        ids, row = src.ids[i], src.rows[i]
        if i in res.refused:
            reason = res.refused[i].removeprefix(f"{src.path}: ")
            log.warning("%s: %s not denoised: %s", src.path, describe(ids), reason)
            flux.append(np.full(f.size, np.nan))
            bits.append(np.full(f.size, NOT_DENOISED, np.int32))
            sigma.append(np.full(f.size, np.nan))
            outcomes.append(Outcome(row, ids, np.nan, np.nan, "refused: " + reason))
            continue
        outside = res.outside[i]
        with np.errstate(invalid="ignore"):
            usable = ~m & np.isfinite(f) & np.isfinite(s) & (s > 0)
        own = domain_warnings(f, s, usable & ~outside, card=model.card)
        for text in own:
            log.warning("%s: %s: %s", src.path, describe(ids), text)
        warns = file_warns + own
        b = np.where((res.mask[i] | ~usable) & ~outside, MASKED, 0) | np.where(
            outside, OUTSIDE_ARM, 0
        )
        if warns:
            b = b | np.where(outside, 0, DOMAIN_WARNING)
        flux.append(res.flux[i])
        bits.append(b.astype(np.int32))
        sigma.append(res.sigma[i] if res.sigma is not None else None)
        outcomes.append(
            Outcome(row, ids, snr(f, s, usable & ~outside), float(res.norm[i]), "ok", warns)
        )
    return Result(flux, bits, sigma if res.sigma is not None else None, outcomes)


def denoise_file(
    model: SpectrumDenoiser,
    path: str | Path,
    out: str | Path,
    opts: ReadOptions,
    record: Mapping[str, Any],
    *,
    target_ids: Iterable[int] = (),
    obj_ids: Iterable[int] = (),
    fiber_ids: Iterable[int] = (),
    batch_size: int = 256,
) -> list[Outcome]:
    """Read ``path``, denoise the selected spectra, write ``out``; the per-spectrum outcomes.

    ``record``: the provenance record (input and model checksums, options) for the output.
    """
    src = select(read_input(path, opts), target_ids, obj_ids, fiber_ids)
    if not len(src):
        raise ValueError(
            f"{path}: no spectrum matches the selection (--target-id/--obj-id/--fiber-id)"
        )
    log.info(
        "%s: %s, %d of %d spectra; %s", path, src.product, len(src), src.n_rows, _unit_note(src)
    )
    for note in src.notes:
        log.info("%s: %s", path, note)
    result = denoise_spectra(model, src, batch_size)
    if all(o.status != "ok" for o in result.outcomes):
        first = result.outcomes[0].status.removeprefix("refused: ")
        many = f"none of its {len(result.outcomes)} spectra could be denoised; the first: "
        raise ValueError(f"{path}: {many if len(result.outcomes) > 1 else ''}{first}")
    write_output(src, result, out, dict(record, product=src.product, notes=src.notes))
    return result.outcomes
