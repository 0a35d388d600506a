"""Provenance records: which config, seed, code and inputs produced a file.

Every output carries a record, either inside the file (Parquet schema metadata under
``pfsdenoise.provenance``) or in a sidecar ``<file>.prov.json`` (figures, checkpoints, grids).
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

PARQUET_KEY = b"pfsdenoise.provenance"
SIDECAR_SUFFIX = ".prov.json"


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


def code_hash(paths: Iterable[str | os.PathLike]) -> str:
    """One short hash over the contents of the code files a step ran (order independent)."""
    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    return "sha256:" + h.hexdigest()[:16]


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
    code: Iterable[str | os.PathLike] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the provenance record of one step's output.

    ``config`` is the slice of configuration the step received, ``inputs`` the files it read
    (checksummed now), ``code`` the source files it ran (hashed together).
    """
    code = list(code)
    return {
        "step": step,
        "config": dict(config or {}),
        "seed": seed,
        "package": "pfsdenoise",
        "version": __version__,
        "code_hash": code_hash(code) if code else None,
        "code_files": [Path(c).name for c in code],
        "inputs": [{"path": str(p), "checksum": file_checksum(p)} for p in inputs],
        "host": platform.node(),
        "python": platform.python_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **(dict(extra) if extra else {}),
    }


def to_json(record: Mapping[str, Any]) -> str:
    """Serialize a record (numpy scalars and paths become plain JSON)."""
    return json.dumps(record, indent=2, sort_keys=True, default=json_default)


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


def read_record(path: str | os.PathLike) -> dict[str, Any] | None:
    """The record of a file: from its Parquet metadata, else its sidecar; None if it has none."""
    path = Path(path)
    if path.is_file() and path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        if PARQUET_KEY in meta:
            return json.loads(meta[PARQUET_KEY])
    side = sidecar_path(path)
    if side.exists():
        return json.loads(side.read_text())
    return None


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
    """Human-readable rendering of :func:`provenance_chain`."""
    lines = []
    for depth, p, record in chain:
        pad = "  " * depth
        if record is None:
            state = "missing" if not Path(p).exists() else "no provenance record"
            lines.append(f"{pad}{p}  ({state})")
            continue
        lines.append(
            f"{pad}{p}  <- step {record.get('step')!r}, pfsdenoise {record.get('version')}, "
            f"code {record.get('code_hash')}, seed {record.get('seed')}, "
            f"{record.get('created')} on {record.get('host')}"
        )
        if record.get("config"):
            cfg = json.dumps(record["config"], sort_keys=True, default=json_default)
            if len(cfg) > 300:
                cfg = cfg[:297] + "..."
            lines.append(f"{pad}    config: {cfg}")
    return "\n".join(lines)
