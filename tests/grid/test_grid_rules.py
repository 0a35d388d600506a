"""The grid rules: the demo grid target plans one slice job per Teff value and a merge; the
import sources and their config sections agree."""

import copy
import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pfsdenoise.configuration import ConfigError, validate_config
from pfsdenoise.grid.importer import SOURCES, make_source

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("snakemake") is None, reason="snakemake not installed")
def test_demo_grid_dry_run():
    out = subprocess.run(
        ["snakemake", "-n", "--forceall", "results/grid/demo/grid.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    n_teff = len(yaml.safe_load((ROOT / "config.yaml").read_text())["grid"]["axes"]["teff"])
    assert re.search(rf"grid_slice\s+{n_teff}\b", text), text[-2000:]
    assert re.search(r"grid_merge\s+1\b", text)


def _grid_config(grid: dict) -> dict:
    """The default config's grid section updated with ``grid``, validated (defaults filled)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["grid"] = {**copy.deepcopy(config["grid"]), **grid}
    return validate_config(config, ROOT / "workflow/schemas/config.schema.yaml")["grid"]


def test_every_import_source_has_its_config_section():
    """The schema offers exactly the library's sources, each section holds the source's
    options (plus its directory), and selecting a source without a directory is refused."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/grid.schema.yaml").read_text())
    assert set(schema["properties"]["source"]["enum"]) == {"synthetic", *SOURCES}
    for name, cls in SOURCES.items():
        section = _grid_config({"source": name, name: {"directory": "/data"}})[name]
        options = {k: v for k, v in section.items() if k != "directory"}
        assert set(options) == set(inspect.signature(cls).parameters), name
        assert make_source(name, options).key == name
        with pytest.raises(ConfigError, match=rf"grid.{name}"):
            _grid_config({"source": name, name: {}})
