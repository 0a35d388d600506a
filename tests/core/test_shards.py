"""Parquet shard schema, zero-copy reading, streaming, and errors on foreign or broken files."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pfsdenoise.provenance import read_record
from pfsdenoise.shards import (
    ShardError,
    concat_batches,
    iter_shard_batches,
    read_metadata,
    read_shard,
    summarize,
    write_shard,
)

N_PIX = 64


def make_arrays(n=10, seed=0):
    rng = np.random.default_rng(seed)
    params = pd.DataFrame(
        {
            "spectrum_id": [f"train/c/{i:06d}" for i in range(n)],
            "teff": rng.uniform(3500, 7500, n),
            "snr": rng.uniform(5, 50, n).astype(np.float32),
        }
    )
    truth = 1 + 0.1 * rng.standard_normal((n, N_PIX)).astype(np.float32)
    spectra = {
        "flux_true": truth,
        "flux": truth + 0.01,
        "sigma": np.full((n, N_PIX), 0.01, np.float32),
        "mask": rng.random((n, N_PIX)) < 0.1,
    }
    wave = np.linspace(7100.0, 8850.0, N_PIX)
    return params, spectra, wave


def test_roundtrip_preserves_values_types_and_metadata(tmp_path):
    params, spectra, wave = make_arrays()
    path = write_shard(
        tmp_path / "s.parquet",
        params,
        spectra,
        wave,
        provenance={"step": "test", "seed": 7},
        units={"wave": "Angstrom"},
        extra_metadata={"snr_definition": "median flux_true/sigma"},
        row_group_size=4,
    )
    batch = read_shard(path)
    assert len(batch) == 10
    for name, values in spectra.items():
        np.testing.assert_array_equal(batch.spectra[name], values)
    assert batch.spectra["flux"].dtype == np.float32
    assert batch.spectra["mask"].dtype == np.bool_
    pd.testing.assert_frame_equal(batch.params, params)
    np.testing.assert_array_equal(batch.wave, wave)
    assert batch.metadata["units"] == {"wave": "Angstrom"}
    assert batch.metadata["snr_definition"] == "median flux_true/sigma"
    assert read_record(path) == {"step": "test", "seed": 7}
    assert pq.ParquetFile(path).metadata.num_row_groups == 3


def test_float_columns_are_read_without_copying_per_row(tmp_path):
    params, spectra, wave = make_arrays()
    path = write_shard(tmp_path / "s.parquet", params, spectra, wave)
    flux = read_shard(path, columns=["flux"]).spectra["flux"]
    # a view on one Arrow buffer, not an array assembled row by row
    assert not flux.flags["OWNDATA"]
    assert flux.base is not None


def test_streaming_yields_all_rows_in_order_across_files(tmp_path):
    paths = []
    for k in range(3):
        params, spectra, wave = make_arrays(n=7, seed=k)
        paths.append(write_shard(tmp_path / f"s{k}.parquet", params, spectra, wave))
    batches = list(iter_shard_batches(paths, batch_size=3, columns=["teff", "flux"]))
    assert [len(b) for b in batches] == [3, 3, 1] * 3
    joined = concat_batches(batches)
    expected = np.concatenate([read_shard(p).spectra["flux"] for p in paths])
    np.testing.assert_array_equal(joined.spectra["flux"], expected)
    assert list(joined.params.columns) == ["teff"]


def test_wrong_shapes_are_refused(tmp_path):
    params, spectra, wave = make_arrays()
    spectra["flux"] = spectra["flux"][:, :10]
    with pytest.raises(ShardError, match="flux"):
        write_shard(tmp_path / "s.parquet", params, spectra, wave)
    assert not list(tmp_path.iterdir()), "a failed write must leave nothing behind"


def test_foreign_and_corrupt_files_get_clear_errors(tmp_path):
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(foreign)
    with pytest.raises(ShardError, match="not a pfsdenoise shard"):
        read_shard(foreign)
    params, spectra, wave = make_arrays()
    good = write_shard(tmp_path / "good.parquet", params, spectra, wave)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ShardError, match="truncated"):
        read_metadata(truncated)
    with pytest.raises(ShardError, match="no such shard"):
        read_shard(tmp_path / "missing.parquet")
    with pytest.raises(ShardError, match="no column"):
        read_shard(good, columns=["nope"])


def test_summary_names_rows_pixels_and_parameters(tmp_path):
    params, spectra, wave = make_arrays()
    path = write_shard(tmp_path / "s.parquet", params, spectra, wave, provenance={"step": "x"})
    text = summarize(path)
    assert "10 in 1 row group" in text
    assert f"{N_PIX} pixels" in text
    assert "teff" in text and "flux_true" in text
