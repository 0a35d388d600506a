"""Validate a workflow configuration against the JSON schemas, with messages a person can act on.

The schemas live in ``workflow/schemas/`` (one file per section, referenced from
``config.schema.yaml``). Defaults declared there are filled into the configuration. Errors name
the key as a dotted path (``simulate.splits.train``), what is wrong, and what the key is for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


class ConfigError(ValueError):
    """A configuration that does not match the schema or is impossible."""


def _with_defaults(cls):
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, MutableMapping):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(name, sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


_Validator = _with_defaults(Draft202012Validator)


def _registry(schema_dir: Path) -> Registry:
    def retrieve(uri: str) -> Resource:
        path = schema_dir / uri.split("/")[-1]
        with open(path) as fh:
            contents = yaml.safe_load(fh)
        # Without its `$schema`, a section is validated by our class, which fills defaults
        # (jsonschema switches to the plain draft class for a resource that names one).
        contents.pop("$schema", None)
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    return Registry(retrieve=retrieve)


def _dotted(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error) -> str:
    key = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{key}: {error.message}; allowed keys here: {', '.join(allowed)}"
    hint = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{key}: {error.message}" + (f" ({hint})" if hint else "")


def iter_errors(config: dict, schema_file: str | os.PathLike) -> Iterator[str]:
    """Every schema violation of ``config`` as a readable line; fills defaults as it goes."""
    schema_file = Path(schema_file)
    with open(schema_file) as fh:
        schema = yaml.safe_load(fh)
    validator = _Validator(schema, registry=_registry(schema_file.parent))
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        yield _describe(error)
    yield from _semantic_errors(config)


def _semantic_errors(config: dict) -> Iterator[str]:
    """Checks a JSON schema cannot express: empty ranges, duplicate chunk names."""
    chunks = config.get("simulate", {}).get("chunks", [])
    names = [c.get("name") for c in chunks if isinstance(c, dict)]
    for name in {n for n in names if names.count(n) > 1}:
        yield f"simulate.chunks: chunk name {name!r} is used twice; names must be unique"
    for i, chunk in enumerate(chunks):
        for axis, value in chunk.items() if isinstance(chunk, dict) else ():
            if (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, int | float) for v in value)
                and not value[0] < value[1]
            ):
                yield (
                    f"simulate.chunks.{i}.{axis}: range {value} is empty; give [low, high] "
                    "with low < high"
                )


def validate_config(config: dict, schema_file: str | os.PathLike) -> dict:
    """Validate ``config`` in place (defaults filled) and return it; raise :class:`ConfigError`
    listing every problem at once."""
    problems = list(iter_errors(config, schema_file))
    if problems:
        raise ConfigError(
            "invalid configuration:\n  - "
            + "\n  - ".join(problems)
            + f"\n(schemas: {Path(schema_file).parent})"
        )
    return config


def default_schema_file() -> Path:
    """``workflow/schemas/config.schema.yaml`` of the checkout this package runs from."""
    from pfsdenoise.code_closure import package_root

    path = package_root().parent / "workflow" / "schemas" / "config.schema.yaml"
    if not path.is_file():
        raise ConfigError(
            f"workflow schemas not found at {path.parent}: run pfsdenoise from a checkout of the "
            "repository (pip install -e .)"
        )
    return path


def load_config(
    paths: Sequence[str | os.PathLike], schema_file: str | os.PathLike | None = None
) -> dict:
    """Read config files in order, each updating the ones before exactly as Snakemake's
    ``--configfile`` does, and validate the result like the workflow (defaults filled)."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        with open(path) as fh:
            try:
                update_config(config, yaml.safe_load(fh) or {})
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return validate_config(config, schema_file or default_schema_file())


def fill_defaults(instance: dict, ref: str, schema_file: str | os.PathLike | None = None) -> dict:
    """Validate one part of a configuration against the schema at ``ref`` (a reference into
    a section's schema, e.g. ``train.schema.yaml#/$defs/model``) and fill its defaults."""
    schema_file = Path(schema_file or default_schema_file())
    validator = _Validator({"$ref": ref}, registry=_registry(schema_file.parent))
    problems = [_describe(e) for e in validator.iter_errors(instance)]
    if problems:
        raise ConfigError(f"invalid {ref}:\n  - " + "\n  - ".join(problems))
    return instance
