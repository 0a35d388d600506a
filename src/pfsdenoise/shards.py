"""Parquet shards of simulated spectra: schema, atomic writer, zero-copy reader, streaming.

Layout of one shard (one row per spectrum):

* scalar columns: stellar and observing parameters, S/N, normalization (``params``);
* fixed-size list columns of length ``n_pix``: ``flux``, ``flux_true``, ``sigma`` (float32) and
  ``mask`` (bool, True = pixel unusable), or whatever spectral arrays a stage writes
  (predictions write ``flux_denoised``);
* schema metadata (JSON values, keys prefixed ``pfsdenoise.``): ``schema_version``, ``wave``
  (pixel-centre wavelengths), ``units``, ``provenance`` and any stage-specific extras.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pfsdenoise.atomic import atomic_path
from pfsdenoise.errors import EXIT_FILESYSTEM, DamagedFile, ExplainedError, ForeignFile
from pfsdenoise.provenance import PARQUET_KEY, json_default

SCHEMA_VERSION = 2
"""2: Parquet page checksums and per-row-group content checksums (``pfsdenoise.integrity``)."""
META_PREFIX = "pfsdenoise."
INTEGRITY = "integrity"
DEFAULT_ROW_GROUP_SIZE = 256
"""Rows per row group: ~12 MB of float32 spectra at 4096 pixels, large enough for fast
sequential reads, small enough to stream with little memory."""
RERUN = "rerun the step that wrote it (delete the file, or snakemake --forcerun <its rule>)"


class ShardError(ExplainedError):
    """A file that is not a readable pfsdenoise shard, or arrays that cannot form one."""


class NotAShardError(ShardError, ForeignFile):
    """A file that is not a pfsdenoise shard at all (a FITS file, someone else's Parquet)."""


class DamagedShardError(ShardError, DamagedFile):
    """A pfsdenoise shard whose bytes are damaged: truncated, or failing a checksum."""


class MissingShardError(ShardError):
    """No file at the path given."""

    exit_code = EXIT_FILESYSTEM


@dataclass
class SpectraBatch:
    """Rows of a shard in memory: scalar parameters plus 2-D spectral arrays (rows × pixels)."""

    params: pd.DataFrame
    spectra: dict[str, np.ndarray]
    wave: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.params)


def _meta_key(name: str) -> bytes:
    return (META_PREFIX + name).encode()


def _spectral_array(name: str, values: np.ndarray, n_pix: int) -> pa.Array:
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[1] != n_pix:
        raise ShardError(
            f"spectral column {name!r} has shape {values.shape}; expected (rows, {n_pix}) "
            "to match the wavelength grid"
        )
    if values.dtype == np.bool_:
        flat = pa.array(values.reshape(-1), type=pa.bool_())
    else:
        flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, n_pix)


def build_table(
    params: pd.DataFrame,
    spectra: Mapping[str, np.ndarray],
    wave: np.ndarray,
    *,
    provenance: Mapping[str, Any] | None = None,
    units: Mapping[str, str] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> pa.Table:
    """Assemble an Arrow table with the shard schema (see the module docstring), its content
    checksums for row groups of ``row_group_size`` rows included."""
    wave = np.asarray(wave, dtype=np.float64)
    n_rows = len(params)
    columns: dict[str, pa.Array] = {
        name: pa.array(params[name].to_numpy()) for name in params.columns
    }
    for name, values in spectra.items():
        if name in columns:
            raise ShardError(f"column {name!r} is both a parameter and a spectral array")
        if len(values) != n_rows:
            raise ShardError(f"spectral column {name!r} has {len(values)} rows, params {n_rows}")
        columns[name] = _spectral_array(name, values, wave.size)
    metadata = {
        _meta_key(key): json.dumps(value, default=json_default).encode()
        for key, value in (extra_metadata or {}).items()
    }
    metadata.update({
        _meta_key("schema_version"): str(SCHEMA_VERSION).encode(),
        _meta_key("wave"): json.dumps(wave.tolist()).encode(),
        _meta_key("units"): json.dumps(dict(units or {})).encode(),
    })  # fmt: skip
    if provenance is not None:
        metadata[PARQUET_KEY] = json.dumps(provenance, default=json_default).encode()
    metadata.pop(_meta_key(INTEGRITY), None)
    table = pa.table(columns)
    metadata[_meta_key(INTEGRITY)] = json.dumps(
        integrity_record(table, metadata, row_group_size)
    ).encode()
    return table.replace_schema_metadata(metadata)


def write_shard(
    path: str | os.PathLike,
    params: pd.DataFrame,
    spectra: Mapping[str, np.ndarray],
    wave: np.ndarray,
    *,
    provenance: Mapping[str, Any] | None = None,
    units: Mapping[str, str] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    compression: str = "zstd",
) -> Path:
    """Write one shard atomically (temporary file, then rename) and return its path.

    Pages carry Parquet's CRC32 checksums and the schema metadata a checksum of every column
    of every row group (:func:`integrity_record`), both verified on every read.
    """
    table = build_table(
        params, spectra, wave, provenance=provenance, units=units,
        extra_metadata=extra_metadata, row_group_size=row_group_size,
    )  # fmt: skip
    with (
        atomic_path(path) as tmp,
        pq.ParquetWriter(
            tmp,
            table.schema,
            compression=compression,
            use_dictionary=[c for c in params.columns if params[c].dtype == object],
            write_page_checksum=True,
        ) as writer,
    ):
        for start in range(0, max(len(table), 1), row_group_size):
            part = table.slice(start, row_group_size)
            writer.write_table(part, row_group_size=max(len(part), 1))
    return Path(path)


# -- integrity: checksums of the decoded content, per column and row group --------------------


def _crc(data: bytes | memoryview | np.ndarray, crc: int) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(data)).cast("B"), crc)


def column_checksum(column: pa.Array | pa.ChunkedArray) -> int:
    """CRC32 of a column's values as decoded (independent of chunking and encoding): float and
    bool values as numpy bytes, strings length-prefixed, then the null mask."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    crc = 0
    for chunk in chunks:
        crc = _values_crc(chunk, crc)
    for chunk in chunks:
        if chunk.null_count:
            crc = _crc(np.asarray(chunk.is_null(), dtype=np.uint8), crc)
    return crc


def _values_crc(array: pa.Array, crc: int) -> int:
    if pa.types.is_fixed_size_list(array.type):
        return _values_crc(array.flatten(), crc)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        for value in array.to_pylist():
            raw = (value or "").encode()
            crc = _crc(len(raw).to_bytes(8, "little") + raw, crc)
        return crc
    if pa.types.is_boolean(array.type):
        return _crc(np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.uint8), crc)
    return _crc(array.to_numpy(zero_copy_only=False), crc)


def _metadata_checksum(metadata: Mapping[bytes, bytes]) -> int:
    """CRC32 of the shard's own metadata entries (all but the integrity record itself)."""
    crc = 0
    for key in sorted(k for k in metadata if k.startswith(META_PREFIX.encode())):
        if key != _meta_key(INTEGRITY):
            crc = _crc(len(key).to_bytes(8, "little") + key, crc)
            crc = _crc(len(metadata[key]).to_bytes(8, "little") + metadata[key], crc)
    return crc


def _column_types(schema: pa.Schema) -> list[list[str]]:
    """[name, type] of each column; a list's element type without its field name (Parquet
    renames "item" to "element")."""

    def name(t: pa.DataType) -> str:
        if pa.types.is_fixed_size_list(t):
            return f"fixed_size_list<{name(t.value_type)}>[{t.list_size}]"
        return str(t)

    return [[f.name, name(f.type)] for f in schema]


def integrity_record(
    table: pa.Table, metadata: Mapping[bytes, bytes], row_group_size: int
) -> dict[str, Any]:
    """The ``pfsdenoise.integrity`` entry: column names and types, and per row group its row
    count and each column's :func:`column_checksum`; plus the checksum of the metadata."""
    groups = []
    for start in range(0, max(len(table), 1), row_group_size):
        part = table.slice(start, row_group_size)
        groups.append({"rows": len(part), "crc": [column_checksum(c) for c in part.columns]})
    return {
        "algorithm": "crc32",
        "metadata": _metadata_checksum(metadata),
        "columns": _column_types(table.schema),
        "row_groups": groups,
    }


@dataclass
class _Shard:
    """An opened shard: the Parquet file (page checksums verified on read), its decoded
    metadata and its integrity record."""

    path: Path
    file: pq.ParquetFile
    metadata: dict[str, Any]
    integrity: dict[str, Any]

    def damaged(self, what: str) -> DamagedShardError:
        return DamagedShardError(f"{self.path}: damaged: {what}; {RERUN}")

    def check(self, table: pa.Table, groups: Sequence[int]) -> None:
        """Raise unless ``table`` (these row groups, in order) matches the checksums of the
        integrity record."""
        names = [n for n, _ in self.integrity["columns"]]
        start = 0
        for group in groups:
            record = self.integrity["row_groups"][group]
            part = table.slice(start, record["rows"])
            if part.num_rows != record["rows"]:
                raise self.damaged(
                    f"row group {group} has {part.num_rows} rows, not {record['rows']}"
                )
            for name in part.schema.names:
                if column_checksum(part.column(name)) != record["crc"][names.index(name)]:
                    raise self.damaged(f"column {name!r} of row group {group} fails its checksum")
            start += part.num_rows
        if start != table.num_rows:
            raise self.damaged(f"{table.num_rows} rows read where {start} were written")

    def read_group(self, group: int, columns: Sequence[str] | None) -> pa.Table:
        """One row group, checked."""
        table = self._arrow(lambda: self.file.read_row_group(group, columns=_cols(columns)))
        self.check(table, [group])
        return table

    def read_all(self, columns: Sequence[str] | None) -> pa.Table:
        """Every row group, checked."""
        table = self._arrow(lambda: self.file.read(columns=_cols(columns)))
        self.check(table, range(self.file.metadata.num_row_groups))
        return table

    def _arrow(self, read):
        try:
            return read()
        except (pa.ArrowException, OSError) as exc:
            raise self.damaged(f"unreadable content ({_first_line(exc)})") from None


def _cols(columns: Sequence[str] | None) -> list[str] | None:
    return list(columns) if columns is not None else None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_SIGNATURES = (
    (b"SIMPLE  =", "a FITS file"),
    (b"\x93NUMPY", "a numpy .npy file"),
    (b"PK\x03\x04", "a zip archive (a .npz file or a torch checkpoint?)"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x1f\x8b", "a gzip file"),
)


def describe_file(path: Path) -> str:
    """What a file that is not a shard appears to be, from its first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if not head:
        return "an empty file"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return f"a text file (starts {head.decode()!r})"
    return f"a file of unknown format (starts {head!r})"


def _footer_mentions_us(path: Path) -> bool:
    """Whether the end of a Parquet file names pfsdenoise metadata (a shard whose keys are
    damaged, not somebody else's Parquet file)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - (4 << 20)))
        return META_PREFIX.encode() in fh.read()


def _open(path: str | os.PathLike) -> _Shard:
    path = Path(path)
    if not path.is_file():
        raise MissingShardError(f"{path}: no such shard")
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, path.stat().st_size - 4))
        tail = fh.read(4)
    parquet = b"PAR1" in (head, tail)
    if not parquet:
        raise NotAShardError(f"{path}: not a pfsdenoise shard: {describe_file(path)}")
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        raw = pf.schema_arrow.metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise DamagedShardError(
            f"{path}: damaged: not a readable Parquet file ({_first_line(exc)}); it may be "
            f"truncated by a killed job: {RERUN}"
        ) from None
    version = raw.get(_meta_key("schema_version"))
    if version is None:
        if _footer_mentions_us(path):
            raise DamagedShardError(
                f"{path}: damaged: its pfsdenoise metadata is unreadable; {RERUN}"
            )
        raise NotAShardError(
            f"{path}: not a pfsdenoise shard: a Parquet file with columns "
            f"{pf.schema_arrow.names} and no 'pfsdenoise.schema_version' metadata; write shards "
            "with `pfsdenoise simulate` or the workflow"
        )
    if not version.isdigit():
        raise DamagedShardError(f"{path}: damaged: schema version {version!r}; {RERUN}")
    if int(version) != SCHEMA_VERSION:
        raise ShardError(
            f"{path}: shard schema version {int(version)}, this pfsdenoise reads version "
            f"{SCHEMA_VERSION}; regenerate the shard with this version ({RERUN})"
        )
    shard = _Shard(path, pf, {}, {})
    try:
        integrity = json.loads(raw[_meta_key(INTEGRITY)])
        expected_meta = int(integrity["metadata"])
        columns = [list(c) for c in integrity["columns"]]
        groups = integrity["row_groups"]
        counts = [int(g["rows"]) for g in groups]
    except (KeyError, TypeError, ValueError) as exc:
        raise shard.damaged(f"its integrity record is unreadable ({_first_line(exc)})") from None
    if _metadata_checksum(raw) != expected_meta:
        raise shard.damaged("its metadata (wavelengths, units, provenance) fails its checksum")
    if _column_types(pf.schema_arrow) != columns:
        raise shard.damaged("its column names or types differ from those it was written with")
    file_counts = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
    if file_counts != counts:
        raise shard.damaged(f"row groups of {file_counts} rows, written as {counts}")
    shard.integrity = integrity
    shard.metadata = _decode_metadata(raw, shard)
    return shard


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """A shard's metadata (wavelengths as an array, everything else as JSON values), checked
    against its checksum."""
    return _open(path).metadata


def _decode_metadata(raw: Mapping[bytes, bytes], shard: _Shard) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key == PARQUET_KEY:
                out["provenance"] = json.loads(value)
            elif key.startswith(META_PREFIX.encode()) and key != _meta_key(INTEGRITY):
                out[key.decode()[len(META_PREFIX) :]] = json.loads(value)
        out["wave"] = np.asarray(out.get("wave", []), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise shard.damaged(f"its metadata is not valid JSON ({_first_line(exc)})") from None
    return out


def spectral_columns(schema: pa.Schema) -> list[str]:
    """Names of the fixed-size list (spectral) columns of a schema."""
    return [f.name for f in schema if pa.types.is_fixed_size_list(f.type)]


def _to_batch(data: pa.Table | pa.RecordBatch, metadata: dict[str, Any]) -> SpectraBatch:
    spectral = set(spectral_columns(data.schema))
    params = {}
    spectra = {}
    for name in data.schema.names:
        col = data.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if name in spectral:
            n_pix = col.type.list_size
            flat = col.flatten()
            zero_copy = not pa.types.is_boolean(flat.type) and flat.null_count == 0
            values = flat.to_numpy(zero_copy_only=zero_copy)
            spectra[name] = values.reshape(len(col), n_pix)
        else:
            params[name] = col.to_numpy(zero_copy_only=False)
    return SpectraBatch(pd.DataFrame(params), spectra, metadata["wave"], metadata)


def read_shard(path: str | os.PathLike, columns: Sequence[str] | None = None) -> SpectraBatch:
    """Read a whole shard (or some of its columns) into numpy arrays, one copy per column,
    verified against its checksums."""
    shard = _open(path)
    _check_columns(path, shard.file.schema_arrow, columns)
    return _to_batch(shard.read_all(columns), shard.metadata)


def _check_columns(path: Any, schema: pa.Schema, columns: Sequence[str] | None) -> None:
    missing = [c for c in columns or () if c not in schema.names]
    if missing:
        raise ShardError(f"{path}: no column(s) {missing}; the shard has {schema.names}")


def iter_shard_batches(
    paths: Iterable[str | os.PathLike],
    batch_size: int = DEFAULT_ROW_GROUP_SIZE,
    columns: Sequence[str] | None = None,
) -> Iterator[SpectraBatch]:
    """Stream shards in batches of ``batch_size`` rows (the last of each file shorter), one
    verified row group in memory at a time: no batch holds data that failed its checksum."""
    for path in paths:
        shard = _open(path)
        _check_columns(path, shard.file.schema_arrow, columns)
        pending: list[pa.Table] = []
        n_pending = 0
        for group in range(shard.file.metadata.num_row_groups):
            table = shard.read_group(group, columns)
            pending.append(table)
            n_pending += table.num_rows
            while n_pending >= batch_size:
                joined = pa.concat_tables(pending)
                yield _to_batch(joined.slice(0, batch_size), shard.metadata)
                rest = joined.slice(batch_size)
                pending, n_pending = [rest], rest.num_rows
        if n_pending:
            yield _to_batch(pa.concat_tables(pending), shard.metadata)


def concat_batches(batches: Iterable[SpectraBatch]) -> SpectraBatch:
    """Join batches that share a wavelength grid into one (copies the arrays once)."""
    batches = list(batches)
    if not batches:
        raise ShardError("no spectra to concatenate")
    wave = batches[0].wave
    for b in batches[1:]:
        if b.wave.shape != wave.shape or not np.allclose(b.wave, wave, rtol=0, atol=1e-6):
            raise ShardError("shards with different wavelength grids cannot be combined")
    params = pd.concat([b.params for b in batches], ignore_index=True)
    spectra = {
        name: np.concatenate([b.spectra[name] for b in batches]) for name in batches[0].spectra
    }
    return SpectraBatch(params, spectra, wave, batches[0].metadata)


def summarize(path: str | os.PathLike) -> str:
    """A short human-readable summary of a shard, for ``pfsdenoise inspect``."""
    shard = _open(path)
    pf, meta = shard.file, shard.metadata
    table = shard.read_all(None)  # every checksum verified
    md = pf.metadata
    spectral = spectral_columns(pf.schema_arrow)
    lines = [
        f"shard      {path}",
        f"rows       {md.num_rows} in {md.num_row_groups} row group(s), "
        f"{Path(path).stat().st_size / 1e6:.1f} MB on disk",
        f"schema     version {meta.get('schema_version')}; page and content checksums of "
        f"{md.num_row_groups} row group(s) verified",
    ]
    wave = meta["wave"]
    if wave.size:
        lines.append(
            f"wavelength {wave.size} pixels, {wave[0]:.3f} .. {wave[-1]:.3f} "
            f"{meta.get('units', {}).get('wave', '')}".rstrip()
        )
    lines.append(f"spectra    {', '.join(spectral)}")
    params = [n for n in pf.schema_arrow.names if n not in spectral]
    if params:
        numeric = table.select(params).to_pandas().select_dtypes("number")
        if not numeric.empty:
            desc = numeric.describe().T[["min", "50%", "max"]].rename(columns={"50%": "median"})
            lines.append("parameters (min / median / max):")
            for name, row in desc.iterrows():
                lines.append(
                    f"  {name:<18} {row['min']:>12.5g} {row['median']:>12.5g} {row['max']:>12.5g}"
                )
    prov = meta.get("provenance")
    if prov:
        lines.append(
            f"provenance step {prov.get('step')!r}, seed {prov.get('seed')}, "
            f"pfsdenoise {prov.get('version')}, code {prov.get('code_hash')}, {prov.get('created')}"
        )
    return "\n".join(lines)
