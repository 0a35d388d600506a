"""Provenance records: which config, seed, code and inputs produced a file.

Every output carries a record, either inside the file (Parquet schema metadata under
``pfsdenoise.provenance``; FITS ``HISTORY PFSD`` cards of the primary header) or in a sidecar
``<file>.prov.json`` (figures, checkpoints, grids).
Records name their inputs with checksums, so :func:`provenance_chain` can walk from a figure
back to the configuration and code that produced it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pfsdenoise import __version__
from pfsdenoise.atomic import write_text_atomic
from pfsdenoise.errors import DamagedFile

PARQUET_KEY = b"pfsdenoise.provenance"
SIDECAR_SUFFIX = ".prov.json"
FITS_TAG = "PFSD "
"""Prefix of the FITS ``HISTORY`` cards that hold a record (as JSON, 64 characters a card)."""


def file_checksum(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    """sha256 of a file's bytes; for a folder, of its provenance record or its listing."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        record = sidecar_path(path)
        if record.exists():
            h.update(record.read_bytes())
        else:
            for child in sorted(path.rglob("*")):
                if child.is_file():
                    h.update(f"{child.relative_to(path)}:{child.stat().st_size}\n".encode())
        return "sha256:" + h.hexdigest()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            h.update(block)
    return "sha256:" + h.hexdigest()


def sidecar_path(output: str | os.PathLike) -> Path:
    """Where the sidecar record of ``output`` lives."""
    output = Path(output)
    return output.with_name(output.name + SIDECAR_SUFFIX)


def make_record(
    step: str,
    *,
    config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    code: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the provenance record of one step's output.

    ``config`` is the slice of configuration the step received, ``inputs`` the files it read
    (checksummed now), ``code`` the record of the library code it ran
    (:func:`pfsdenoise.code_closure.code_record`: content hash and files).
    """
    code = dict(code or {})
    checked = [{"path": str(p), "checksum": file_checksum(p)} for p in inputs]
    check_consistent(checked)
    return {
        "step": step,
        "config": dict(config or {}),
        "seed": seed,
        "package": "pfsdenoise",
        "version": __version__,
        "code_hash": code.get("hash"),
        "code_files": list(code.get("files", [])),
        "script": code.get("script"),
        "inputs": checked,
        "host": platform.node(),
        "python": platform.python_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **(dict(extra) if extra else {}),
    }


def job_record(
    step: str,
    params: Mapping[str, Any],
    inputs: Iterable[str | os.PathLike],
    wildcards: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one workflow job, built the same way by every script: ``params`` are the
    rule's params (its config slice, plus ``code`` and an optional ``seed``), ``inputs`` its
    input files, ``wildcards`` which instance of the rule ran."""
    config = {k: v for k, v in dict(params).items() if k not in ("code", "seed")}
    return make_record(
        step,
        config=config,
        seed=dict(params).get("seed"),
        inputs=[os.fspath(p) for p in inputs],
        code=dict(params).get("code"),
        extra={"wildcards": dict(wildcards or {})},
    )


def to_json(record: Mapping[str, Any]) -> str:
    """Serialize a record (numpy scalars and paths become plain JSON)."""
    return json.dumps(record, indent=2, sort_keys=True, default=json_default)


def record_digest(record: Mapping[str, Any]) -> str:
    """sha256 (hex) of a record's sorted-key JSON: what an index lists for an output, so that
    the index changes exactly when one of its outputs' config, seed, code or inputs does."""
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def json_default(obj: Any) -> Any:
    """JSON encoding of numpy values and paths (``json.dumps(default=...)``)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__} as JSON")


def write_sidecar(output: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write ``<output>.prov.json`` atomically and return its path."""
    path = sidecar_path(output)
    write_text_atomic(path, to_json(record) + "\n")
    return path


class ProvenanceError(DamagedFile):
    """A provenance record that cannot be read (damaged metadata or sidecar)."""


def fits_history(record: Mapping[str, Any]) -> list[str]:
    """``HISTORY`` card texts holding ``record`` (``|`` ends each: FITS strips trailing blanks)."""
    text = json.dumps(record, default=json_default, separators=(",", ":"))
    return [FITS_TAG + text[start : start + 64] + "|" for start in range(0, len(text), 64)]


def read_fits_text(path: str | os.PathLike) -> str | None:
    """The record's JSON text in a FITS file's primary ``HISTORY PFSD`` cards (None without)."""
    from astropy.io import fits

    history = fits.getheader(path, 0).get("HISTORY", [])
    parts = [str(h)[len(FITS_TAG) : -1] for h in history if str(h).startswith(FITS_TAG)]
    return "".join(parts) if parts else None


def _is_fits(path: Path) -> bool:
    """A FITS file, plain or gzip-compressed, by its first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return head == b"SIMPLE  =" or head.startswith(b"\x1f\x8b")


class InconsistentInputsError(DamagedFile):
    """Inputs of one step that do not belong together: one was made from another file's
    content, which has changed since (damaged, or rewritten outside the workflow)."""


def _same_file_key(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def check_consistent(inputs: Iterable[Mapping[str, Any]]) -> None:
    """Verify the inputs of a step against each other's provenance records: where input A
    records that it was made from input B, B's checksum now must be the one A recorded.

    ``inputs`` are ``{"path", "checksum"}`` items (those of a record being made). This catches
    a file damaged or rewritten after its dependents were computed (a test shard changed under
    its predictions), before the step reads either.
    """
    inputs = list(inputs)
    current = {_same_file_key(i["path"]): i for i in inputs}
    for item in inputs:
        try:
            record = read_record(item["path"])
        except (OSError, ValueError):  # unreadable: the step's reader reports it, named
            continue
        for used in (record or {}).get("inputs") or []:
            if not isinstance(used, Mapping) or not isinstance(used.get("path"), str):
                continue
            now = current.get(_same_file_key(used["path"]))
            if now is not None and used.get("checksum") not in (None, now["checksum"]):
                raise InconsistentInputsError(
                    f"{item['path']} was made from {now['path']} with checksum "
                    f"{used['checksum']}, which now has {now['checksum']}: {now['path']} changed "
                    f"(or is damaged) since; rerun the step that wrote {item['path']}, or "
                    f"restore {now['path']}"
                )


def read_record(path: str | os.PathLike) -> dict[str, Any] | None:
    """The record of a file: from its Parquet metadata or FITS header, else its sidecar; None
    if it has none."""
    path = Path(path)
    text, where = None, None
    if path.is_file() and path.suffix == ".parquet":
        from pfsdenoise.shards import NotAShardError, read_metadata

        try:  # a shard's metadata is checked against its checksum first
            record = read_metadata(path).get("provenance")
        except NotAShardError:
            record = None
        if record is not None:
            if not isinstance(record, dict):
                raise ProvenanceError(f"{path}: its provenance record is not a JSON object")
            return record
    if text is None and path.is_file() and _is_fits(path):
        text, where = read_fits_text(path), "its FITS HISTORY PFSD cards"
    side = sidecar_path(path)
    if text is None and side.exists():
        text, where = side.read_bytes(), str(side)
    if text is None:
        return None
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProvenanceError(
            f"{path}: the provenance record in {where} is damaged ({exc}); rerun the step that "
            "wrote the file"
        ) from None
    if not isinstance(record, dict):
        raise ProvenanceError(f"{path}: the provenance record in {where} is not a JSON object")
    return record


def provenance_chain(
    path: str | os.PathLike, max_depth: int = 12
) -> list[tuple[int, str, dict | None]]:
    """Walk a file's inputs recursively: a list of (depth, path, record) in depth-first order.

    Inputs are visited once each; a file with no record ends its branch.
    """
    seen: set[str] = set()
    out: list[tuple[int, str, dict | None]] = []

    def visit(p: str, depth: int) -> None:
        if p in seen or depth > max_depth:
            return
        seen.add(p)
        record = read_record(p) if Path(p).exists() else None
        out.append((depth, p, record))
        for item in (record or {}).get("inputs", []):
            visit(_locate(item["path"], Path(p)), depth + 1)

    visit(str(path), 0)
    return out


def _locate(recorded: str, referrer: Path) -> str:
    """Where a recorded input is now: as recorded, or (for a path relative to the workflow's
    working directory) below the first folder above ``referrer`` that holds it."""
    path = Path(recorded)
    if path.is_absolute():
        return recorded
    for folder in referrer.absolute().parents:
        if (folder / path).exists():
            return str(folder / path)
    return recorded


def format_chain(chain: list[tuple[int, str, dict | None]]) -> str:
    """One line per step of :func:`provenance_chain`: the file, the step that made it, how many
    inputs, which config keys, seed, code hash and time; inputs indented below it."""
    lines = []
    for depth, p, record in chain:
        pad = "  " * depth
        if record is None:
            state = "missing" if not Path(p).exists() else "no provenance record"
            lines.append(f"{pad}{p}  ({state})")
            continue
        n_in = len(record.get("inputs", []))
        parts = [f"{n_in} input{'s' if n_in != 1 else ''}"]
        keys = sorted(record.get("config") or {})
        if keys:
            parts.append("config " + ", ".join(keys))
        if record.get("seed") is not None:
            parts.append(f"seed {record['seed']}")
        code = record.get("code_hash")
        if code:
            parts.append(f"code {code} ({len(record.get('code_files', []))} files)")
        parts.append(str(record.get("created")))
        lines.append(f"{pad}{p} <- {record.get('step')}: " + "; ".join(parts))
    return "\n".join(lines)
