"""Nothing silently corrupt (issue 13, row 2): shards carry page checksums and content
checksums per row group; every byte flipped either raises an error naming the file and the fix,
or reads back identical data; `pfsdenoise inspect` tells a user's own file from a damaged
shard; a step refuses inputs that no longer match each other's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pfsdenoise.cli import main
from pfsdenoise.errors import EXIT_DAMAGED, EXIT_FILESYSTEM, EXIT_FOREIGN
from pfsdenoise.learn.testdata import write_toy_shard
from pfsdenoise.provenance import InconsistentInputsError, make_record, write_sidecar
from pfsdenoise.shards import (
    DamagedShardError,
    ShardError,
    concat_batches,
    iter_shard_batches,
    read_metadata,
    read_shard,
)


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    """8 stand-in spectra of 4096 pixels in row groups of 3 (~430 kB)."""
    path = tmp_path_factory.mktemp("shard") / "train" / "cool.parquet"
    write_toy_shard(path, 8, seed=0)
    batch = read_shard(path)  # rewrite with small row groups: streaming crosses them
    from pfsdenoise.shards import write_shard

    meta = {k: v for k, v in batch.metadata.items() if k not in ("wave", "units", "provenance")}
    meta.pop("schema_version")
    return write_shard(
        path, batch.params, batch.spectra, batch.wave, provenance=batch.metadata["provenance"],
        extra_metadata=meta, row_group_size=3,
    )  # fmt: skip


def _same(a, b) -> bool:
    meta = lambda m: {k: v for k, v in m.items() if k != "wave"}  # noqa: E731
    return (
        a.params.equals(b.params)
        and a.spectra.keys() == b.spectra.keys()
        and all(np.array_equal(a.spectra[k], b.spectra[k]) for k in a.spectra)
        and np.array_equal(a.wave, b.wave)
        and meta(a.metadata) == meta(b.metadata)
    )


def _sweep(shard: Path, tmp_path: Path, offsets) -> dict[str, int]:
    """Flip one byte at each offset (all bits), read the whole shard and stream it in
    batches of 5 rows; count outcomes. An error must name the file and say what to do."""
    reference = read_shard(shard)
    data = shard.read_bytes()
    damaged = tmp_path / "damaged.parquet"
    counts = {"raised": 0, "identical": 0, "silent": 0}
    for offset in offsets:
        flipped = bytearray(data)
        flipped[offset] ^= 0xFF
        damaged.write_bytes(flipped)
        for read in (read_shard, lambda p: concat_batches(iter_shard_batches([p], 5))):
            try:
                got = read(damaged)
            except ShardError as exc:
                assert str(damaged) in str(exc) and "rerun" in str(exc), str(exc)
                counts["raised"] += 1
                continue
            counts["identical" if _same(got, reference) else "silent"] += 1
    return counts


def test_byte_flip_sweep_every_4kB_changes_nothing_silently(shard, tmp_path):
    """Done-when of issue 13: a single-byte-flip sweep over a shard (every 4 kB) gives 0 silent
    changes (before: 331 of 412 flips of a 16-spectrum shard read back other data)."""
    counts = _sweep(shard, tmp_path, range(0, shard.stat().st_size, 4096))
    assert counts["silent"] == 0, counts
    assert counts["raised"] > counts["identical"]  # most bytes are data: the flips are seen


def test_byte_flip_sweep_over_the_footer(shard, tmp_path):
    """The footer (schema, wavelengths, provenance, checksums) densely: a flip there once
    turned wave[229] from 7198 into 7.2e16."""
    size = shard.stat().st_size
    footer = int.from_bytes(shard.read_bytes()[-8:-4], "little")
    counts = _sweep(shard, tmp_path, range(size - footer - 8, size, 397))
    assert counts["silent"] == 0, counts


def test_corrupt_compressed_page_names_the_file(shard, tmp_path):
    """Before: a raw `OSError: ZSTD decompression failed` traceback."""
    meta = pq.ParquetFile(shard).metadata
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    chunk = meta.row_group(1).column(names.index("flux.list.element"))
    data = bytearray(shard.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0x5A
    damaged = tmp_path / "zstd.parquet"
    damaged.write_bytes(data)
    with pytest.raises(DamagedShardError, match=rf"{damaged}: damaged: .*; rerun the step"):
        read_shard(damaged, columns=["flux"])
    read_shard(damaged, columns=["teff"])  # the other columns still read, verified


def test_changed_metadata_that_still_parses_is_caught(shard, tmp_path):
    """A wavelength changed in the metadata, still valid JSON (the file rewritten by another
    tool, its checksums kept)."""
    table = pq.read_table(shard)
    meta = dict(table.schema.metadata)
    wave = json.loads(meta[b"pfsdenoise.wave"])
    wave[229] = 7.2e16
    meta[b"pfsdenoise.wave"] = json.dumps(wave).encode()
    damaged = tmp_path / "wave.parquet"
    pq.write_table(table.replace_schema_metadata(meta), damaged)
    with pytest.raises(DamagedShardError, match=r"metadata .* fails its checksum"):
        read_metadata(damaged)


def _fits_file(path: Path) -> Path:
    from astropy.io import fits

    fits.HDUList([fits.PrimaryHDU(np.ones(16))]).writeto(path)
    return path


def test_inspect_tells_a_users_file_from_a_damaged_shard(shard, tmp_path, capsys):
    """Before: exit 0 for every file, damaged or not."""
    assert main(["inspect", str(shard)]) == 0
    out = capsys.readouterr().out
    assert "8 in 3 row group(s)" in out and "checksums of 3 row group(s) verified" in out

    fits_path = _fits_file(tmp_path / "spectrum.fits")
    assert main(["inspect", str(fits_path)]) == EXIT_FOREIGN
    assert f"{fits_path}: not a pfsdenoise shard: a FITS file" in capsys.readouterr().err

    foreign = tmp_path / "table.parquet"
    pd.DataFrame({"flux": [1.0, 2.0]}).to_parquet(foreign)
    assert main(["inspect", str(foreign)]) == EXIT_FOREIGN
    err = capsys.readouterr().err
    assert f"{foreign}: not a pfsdenoise shard: a Parquet file with columns ['flux']" in err

    data = bytearray(shard.read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(data)
    assert main(["inspect", str(damaged), str(shard)]) == EXIT_DAMAGED
    captured = capsys.readouterr()
    assert f"{damaged}: damaged:" in captured.err and "rerun the step" in captured.err
    assert "Traceback" not in captured.err
    assert f"shard      {shard}" in captured.out  # the good file is still inspected

    assert main(["inspect", str(tmp_path / "missing.parquet")]) == EXIT_FILESYSTEM


def test_a_step_refuses_inputs_that_no_longer_belong_together(tmp_path):
    """A prediction records the checksum of the test shard it was made from; once that shard
    changes (damaged, or regenerated outside the workflow), a step given both refuses before
    reading them (before: the error table was recomputed from damaged data, exit 0)."""
    test = write_toy_shard(tmp_path / "test" / "cool.parquet", 4, seed=1, split="test")
    prediction = tmp_path / "pred.txt"
    prediction.write_text("predictions")
    write_sidecar(prediction, make_record("denoise", inputs=[test]))
    make_record("errors", inputs=[test, prediction])  # consistent: fine
    write_toy_shard(test, 4, seed=2, split="test")  # the test shard changes
    with pytest.raises(InconsistentInputsError) as info:
        make_record("errors", inputs=[test, prediction])
    message = str(info.value)
    assert f"{prediction} was made from {test}" in message
    assert f"rerun the step that wrote {prediction}" in message
