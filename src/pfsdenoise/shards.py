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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pfsdenoise.atomic import atomic_path
from pfsdenoise.provenance import PARQUET_KEY, json_default

SCHEMA_VERSION = 1
META_PREFIX = "pfsdenoise."
DEFAULT_ROW_GROUP_SIZE = 256
"""Rows per row group: ~12 MB of float32 spectra at 4096 pixels, large enough for fast
sequential reads, small enough to stream with little memory."""


class ShardError(ValueError):
    """A file that is not a readable pfsdenoise shard, or arrays that cannot form one."""


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
) -> pa.Table:
    """Assemble an Arrow table with the shard schema (see the module docstring)."""
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
        _meta_key("schema_version"): str(SCHEMA_VERSION).encode(),
        _meta_key("wave"): json.dumps(wave.tolist()).encode(),
        _meta_key("units"): json.dumps(dict(units or {})).encode(),
    }
    for key, value in (extra_metadata or {}).items():
        metadata[_meta_key(key)] = json.dumps(value, default=json_default).encode()
    if provenance is not None:
        metadata[PARQUET_KEY] = json.dumps(provenance, default=json_default).encode()
    table = pa.table(columns)
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
    """Write one shard atomically (temporary file, then rename) and return its path."""
    table = build_table(
        params, spectra, wave, provenance=provenance, units=units, extra_metadata=extra_metadata
    )
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            row_group_size=row_group_size,
            compression=compression,
            use_dictionary=[c for c in params.columns if params[c].dtype == object],
        )
    return Path(path)


def _open(path: str | os.PathLike) -> pq.ParquetFile:
    path = Path(path)
    if not path.exists():
        raise ShardError(f"{path}: no such shard")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ShardError(
            f"{path}: not a readable Parquet file ({exc}); it may be truncated by a killed job: "
            "delete it and rerun the step that writes it"
        ) from exc
    meta = pf.schema_arrow.metadata or {}
    version = meta.get(_meta_key("schema_version"))
    if version is None:
        raise ShardError(
            f"{path}: a Parquet file without 'pfsdenoise.schema_version' in its metadata, so not "
            "a pfsdenoise shard; write shards with `pfsdenoise simulate` or the workflow"
        )
    if int(version) != SCHEMA_VERSION:
        raise ShardError(
            f"{path}: shard schema version {int(version)}, this pfsdenoise reads version "
            f"{SCHEMA_VERSION}; regenerate the shard with this version"
        )
    return pf


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """A shard's metadata (wavelengths as an array, everything else as JSON values)."""
    pf = _open(path)
    return _decode_metadata(pf.schema_arrow.metadata or {})


def _decode_metadata(raw: Mapping[bytes, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == PARQUET_KEY:
            out["provenance"] = json.loads(value)
        elif key.startswith(META_PREFIX.encode()):
            out[key.decode()[len(META_PREFIX) :]] = json.loads(value)
    out["wave"] = np.asarray(out.get("wave", []), dtype=np.float64)
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
    """Read a whole shard (or some of its columns) into numpy arrays, one copy per column."""
    pf = _open(path)
    metadata = _decode_metadata(pf.schema_arrow.metadata or {})
    _check_columns(path, pf.schema_arrow, columns)
    try:
        table = pf.read(columns=list(columns) if columns is not None else None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ShardError(f"{path}: corrupt shard ({exc}); delete it and rerun its step") from exc
    return _to_batch(table, metadata)


def _check_columns(path: Any, schema: pa.Schema, columns: Sequence[str] | None) -> None:
    missing = [c for c in columns or () if c not in schema.names]
    if missing:
        raise ShardError(f"{path}: no column(s) {missing}; the shard has {schema.names}")


def iter_shard_batches(
    paths: Iterable[str | os.PathLike],
    batch_size: int = DEFAULT_ROW_GROUP_SIZE,
    columns: Sequence[str] | None = None,
) -> Iterator[SpectraBatch]:
    """Stream shards batch by batch, never holding more than one batch per file in memory."""
    for path in paths:
        pf = _open(path)
        metadata = _decode_metadata(pf.schema_arrow.metadata or {})
        _check_columns(path, pf.schema_arrow, columns)
        try:
            for record_batch in pf.iter_batches(
                batch_size=batch_size, columns=list(columns) if columns is not None else None
            ):
                yield _to_batch(record_batch, metadata)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ShardError(
                f"{path}: corrupt shard ({exc}); delete it and rerun its step"
            ) from exc


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
    pf = _open(path)
    meta = _decode_metadata(pf.schema_arrow.metadata or {})
    md = pf.metadata
    spectral = spectral_columns(pf.schema_arrow)
    lines = [
        f"shard      {path}",
        f"rows       {md.num_rows} in {md.num_row_groups} row group(s), "
        f"{Path(path).stat().st_size / 1e6:.1f} MB on disk",
        f"schema     version {meta.get('schema_version')}",
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
        table = pf.read(columns=params).to_pandas()
        numeric = table.select_dtypes("number")
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
