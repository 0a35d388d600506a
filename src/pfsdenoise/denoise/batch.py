"""Denoise many files in one call: files, globs and folders; one bad file never stops the others.

Each file gets its provenance record (:func:`pfsdenoise.provenance.make_record`: input and model
checksums, options, code hash). The summary has one line per spectrum (file, object, S/N,
warnings, status) and one per file that failed; the caller turns failures into the exit status.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pfsdenoise.denoise.api import SpectrumDenoiser
from pfsdenoise.denoise.inputs import ReadOptions, describe
from pfsdenoise.denoise.output import Outcome, output_paths
from pfsdenoise.denoise.run import card_checksum, denoise_file

log = logging.getLogger(__name__)

SUFFIXES = (".fits", ".fit", ".fits.gz", ".fts", ".parquet")
"""Files a folder contributes to a batch."""


@dataclass
class SummaryRow:
    file: str
    object: str
    snr: float
    warnings: str
    status: str


def expand_inputs(items: Iterable[str | Path]) -> tuple[list[Path], list[SummaryRow]]:
    """Files named, matched by glob patterns, or inside folders (sorted), and a failed summary
    line for each item that names nothing."""
    files: list[Path] = []
    missing: list[SummaryRow] = []
    for item in map(str, items):
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item) if Path(p).is_file())
        if not found:
            missing.append(SummaryRow(item, "-", float("nan"), "", "failed: no such file"))
        files.extend(found)
    return files, missing


def base_record(model: SpectrumDenoiser, options: Mapping[str, Any]) -> dict[str, Any]:
    """What every output's provenance record says about the model and the options."""
    return {
        "model": str(model.path),
        "arch": model.card.get("arch"),
        "card_checksum": card_checksum(model.card),
        "metrics": model.card.get("metrics"),
        "options": dict(options),
    }


def run_batch(
    model: SpectrumDenoiser,
    items: Iterable[str | Path],
    out_dir: str | Path,
    opts: ReadOptions,
    *,
    selection: Mapping[str, Iterable[int]] | None = None,
    batch_size: int = 256,
) -> tuple[list[SummaryRow], int]:
    """Denoise every input into ``out_dir/<name>``; the summary and the number of failed files.

    Raises before any work when an output would overwrite an input or two inputs share a name.
    """
    from pfsdenoise.code_closure import module_code_record
    from pfsdenoise.provenance import file_checksum, make_record

    files, summary = expand_inputs(items)
    out_dir = Path(out_dir)
    outputs = output_paths(files, out_dir)
    selection = {k: list(v) for k, v in (selection or {}).items()}
    base = base_record(model, {**asdict(opts), **selection, "batch_size": batch_size})
    # The model's checksum and the code hash once; each file adds its own checksum.
    job = make_record(
        "denoise",
        config=base["options"],
        inputs=[model.path],
        code=module_code_record("pfsdenoise.denoise.batch"),
        extra=base,
    )
    failed = len(summary)
    for path, out in zip(files, outputs, strict=True):
        try:
            mine = {"path": str(path), "checksum": file_checksum(path)}
            record = {**job, "inputs": [mine, *job["inputs"]]}
            outcomes = denoise_file(
                model,
                path,
                out,
                opts,
                record,
                batch_size=batch_size,
                target_ids=selection.get("target_ids", ()),
                obj_ids=selection.get("obj_ids", ()),
                fiber_ids=selection.get("fiber_ids", ()),
            )
        except Exception as exc:  # one bad file never stops the others
            reason = str(exc).removeprefix(f"{path}: ")  # named once, by the file column
            log.error("%s: failed: %s", path, reason)
            summary.append(SummaryRow(str(path), "-", float("nan"), "", f"failed: {reason}"))
            failed += 1
            continue
        summary.extend(summary_rows(path, outcomes))
    return summary, failed


def summary_rows(path: str | Path, outcomes: Iterable[Outcome]) -> list[SummaryRow]:
    """One summary line per spectrum of a file."""
    return [
        SummaryRow(str(path), describe(o.ids), o.snr, short_warnings(o.warnings), o.status)
        for o in outcomes
    ]


def short_warnings(warnings: list[str]) -> str:
    """The warnings' headlines (their text up to the first colon; the log has the rest)."""
    return "; ".join(w.split(":")[0] for w in warnings)


def denoise_one(
    model_path: str | Path,
    path: str | Path,
    out: str | Path,
    *,
    options: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> list[SummaryRow]:
    """Denoise one file into ``out`` (the workflow's ``apply`` job); raises when it fails.

    ``options``: the :class:`ReadOptions` fields ``product``, ``wave_unit``, ``flux_unit``,
    ``air``, ``mask_planes`` (None = the default planes), and ``batch_size``, ``device``;
    ``provenance``: the job's record (what the model is, is added).
    """
    from pfsdenoise.denoise.api import load_spectrum_denoiser

    read = {k: options[k] for k in ("product", "wave_unit", "flux_unit", "air")}
    if options["mask_planes"] is not None:
        read["mask_planes"] = tuple(p.upper() for p in options["mask_planes"])
    model = load_spectrum_denoiser(model_path, options["device"])
    record = {**provenance, **base_record(model, options)}
    try:
        outcomes = denoise_file(
            model, path, out, ReadOptions(**read), record, batch_size=options["batch_size"]
        )
    except Exception as exc:  # the log names the file and the reason, then the job fails
        log.error("%s: failed: %s", path, exc)
        raise
    rows = summary_rows(path, outcomes)
    log.info("summary:\n%s", format_summary(rows))
    return rows


def format_summary(rows: list[SummaryRow]) -> str:
    """The summary as an aligned text table (file, object, S/N, warnings, status)."""
    cells = [("file", "object", "S/N", "warnings", "status")] + [
        (r.file, r.object, f"{r.snr:.1f}" if r.snr == r.snr else "-", r.warnings or "-", r.status)
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    return "\n".join(
        "  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4] for c in cells
    )


def write_summary(rows: list[SummaryRow], path: str | Path) -> Path:
    """The summary as a tab-separated file (atomically)."""
    from pfsdenoise.atomic import write_text_atomic

    lines = ["file\tobject\tsnr\twarnings\tstatus"] + [
        "\t".join([r.file, r.object, f"{r.snr:.3f}", r.warnings, r.status]) for r in rows
    ]
    write_text_atomic(path, "\n".join(lines) + "\n")
    return Path(path)
