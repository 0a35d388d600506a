"""Config validation: the shipped configs pass; typos, wrong types and empty ranges are named."""

from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from pfsdenoise.configuration import ConfigError, validate_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize(
    "override",
    [None, *sorted((ROOT / "config").glob("*.yaml"))],
    ids=lambda p: getattr(p, "name", "default"),
)
def test_shipped_configs_are_valid(override):
    config = load(ROOT / "config.yaml")
    if override is not None:
        update_config(config, load(override))  # Snakemake's own --configfile merge
    validate_config(config, SCHEMA)


def test_defaults_are_filled_in():
    config = load(ROOT / "config.yaml")
    del config["simulate"]["row_group_size"]
    validate_config(config, SCHEMA)
    assert config["simulate"]["row_group_size"] == 256
    assert all(chunk["seed"] == 0 for chunk in config["simulate"]["chunks"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c.update(simulat=1), r"\(top level\).*'simulat' was unexpected"),
        (
            lambda c: c["simulate"]["splits"].update(train="many"),
            r"simulate\.splits\.train: 'many'",
        ),
        (
            lambda c: c["simulate"]["chunks"][0].update(teff=[5000, 4000]),
            r"simulate\.chunks\.0\.teff",
        ),
        (lambda c: c["simulate"]["chunks"].append(dict(c["simulate"]["chunks"][0])), "used twice"),
        (lambda c: c["simulate"]["chunks"][0].update(name="a b"), r"simulate\.chunks\.0\.name"),
    ],
)
def test_bad_configs_name_the_key(edit, expected):
    config = load(ROOT / "config.yaml")
    edit(config)
    with pytest.raises(ConfigError, match=expected):
        validate_config(config, SCHEMA)
