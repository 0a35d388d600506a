"""A damaged grid is refused, never interpolated (issue 13, rows 2 and 7): checksums of the
manifest, the provenance sidecar, wave, valid and every node row; a byte flipped anywhere in
the grid's files raises an error naming the file and the fix, or reads back identical data."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pfsdenoise.grid.build import merge_slices
from pfsdenoise.grid.interpolate import interpolate
from pfsdenoise.grid.store import (
    DamagedGridError,
    GridFormatError,
    log_uniform_wave,
    open_grid,
    write_grid,
)

AXES = {"teff": [4000.0, 5000.0], "logg": [1.0, 2.0, 3.0], "mh": [0.0], "alpha": [0.0, 0.4]}
NODES = np.array(list(itertools.product(*AXES.values())))


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory) -> Path:
    """12 nodes (one a hole) of 1001 wavelengths, with a continuum and a provenance record."""
    path = tmp_path_factory.mktemp("grid") / "g"
    wave = log_uniform_wave(7000.0, 7070.0, 1e-5)
    flux = np.random.default_rng(0).uniform(1, 2, (2, 3, 1, 2, len(wave))).astype(np.float32)
    valid = np.ones((2, 3, 1, 2), bool)
    valid[1, 2, 0, 1] = False
    write_grid(path, AXES, wave, flux, valid, flux + 1, source="test", resolution=5e4,
               provenance={"step": "test", "config": {"n": 1}})  # fmt: skip
    return path


def _read(path: Path):
    """What a consumer gets: the opened grid and every node's flux and continuum."""
    grid = open_grid(path)
    out = [interpolate(grid, NODES, array=a, on_hole="nan") for a in ("flux", "continuum")]
    return grid, out


def test_byte_flip_sweep_over_every_grid_file(grid_dir, tmp_path):
    reference, expected = _read(grid_dir)
    counts = {"raised": 0, "identical": 0, "silent": 0}
    work = tmp_path / "g"
    for file in sorted(grid_dir.iterdir()):
        data = file.read_bytes()
        for offset in range(0, len(data), 331):
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(grid_dir, work)
            flipped = bytearray(data)
            flipped[offset] ^= 0x01
            (work / file.name).write_bytes(flipped)
            try:
                grid, got = _read(work)
            except GridFormatError as exc:
                assert str(work) in str(exc) and "rebuild the grid" in str(exc), str(exc)
                counts["raised"] += 1
                continue
            same = (
                all(
                    np.array_equal(a, b, equal_nan=True) for a, b in zip(got, expected, strict=True)
                )
                and np.array_equal(grid.wave, reference.wave)
                and np.array_equal(grid.valid, reference.valid)
                and grid.metadata == reference.metadata
            )
            counts["identical" if same else "silent"] += 1
    assert counts["silent"] == 0, counts
    assert counts["raised"] > 0


def test_a_flipped_flux_bit_is_detected_when_the_node_is_used(grid_dir, tmp_path):
    """Before: a bit flip in the grid's flux went unnoticed."""
    work = tmp_path / "g"
    shutil.copytree(grid_dir, work)
    flux = np.load(work / "flux.npy", mmap_mode="r+")
    raw = flux[0, 1, 0, 0].view(np.uint32)
    raw[17] ^= 1 << 3  # one bit of one pixel of node (teff 4000, logg 2)
    flux.flush()
    del flux, raw
    grid = open_grid(work)  # opening reads no node
    interpolate(grid, NODES[[0]])  # another node: fine
    with pytest.raises(DamagedGridError, match=r"flux\.npy: damaged: node \(0, 1, 0, 0\)"):
        interpolate(grid, NODES[[2]])


def test_a_grid_without_its_wave_entry_is_named(grid_dir, tmp_path):
    """Before: `KeyError: 'wave'` traceback."""
    work = tmp_path / "g"
    shutil.copytree(grid_dir, work)
    manifest = json.loads((work / "grid.json").read_text())
    del manifest["wave"]
    (work / "grid.json").write_text(json.dumps(manifest))
    with pytest.raises(GridFormatError, match=r"grid\.json: the manifest has no 'wave' entry"):
        open_grid(work)
    (work / "wave.npy").unlink()
    shutil.copy(grid_dir / "grid.json", work / "grid.json")
    with pytest.raises(DamagedGridError, match=r"wave\.npy: damaged: cannot read"):
        open_grid(work)


def test_slices_of_other_code_are_not_merged(tmp_path):
    """Grid slices are cached intermediates: slices built by other code are refused."""
    wave = log_uniform_wave(7000.0, 7010.0, 1e-4)
    for teff, code in ((4000.0, "sha256:a"), (5000.0, "sha256:b")):
        axes = {**AXES, "teff": [teff]}
        write_grid(tmp_path / f"s{teff:g}", axes, wave, np.ones((1, 3, 1, 2, len(wave))),
                   source="t", provenance={"code_hash": code, "config": {"teff": teff}})  # fmt: skip
    with pytest.raises(GridFormatError, match="built by other code or settings"):
        merge_slices(tmp_path / "g", [tmp_path / "s4000", tmp_path / "s5000"])
