"""Validate a workflow configuration against the JSON schemas, with messages a person can act on.

The schemas live in ``workflow/schemas/`` (one file per section, referenced from
``config.schema.yaml``). Defaults declared there are filled into the configuration. Errors name
the key as a dotted path (``simulate.splits.train``), what is wrong, and what the key is for.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pfsdenoise.errors import ConfigProblem


class ConfigError(ConfigProblem):
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

# libyaml's loader where PyYAML has it (the same safe subset, several times faster: the Snakefile
# reads the schemas and config layers on every plan, and every cluster job plans again)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(fh) -> Any:
    """One YAML document, safely."""
    return yaml.load(fh, Loader=_SAFE_LOADER)


def _registry(schema_dir: Path) -> Registry:
    def retrieve(uri: str) -> Resource:
        path = schema_dir / uri.split("/")[-1]
        with open(path) as fh:
            contents = _load_yaml(fh)
        # Without its `$schema`, a section is validated by our class, which fills defaults
        # (jsonschema switches to the plain draft class for a resource that names one).
        contents.pop("$schema", None)
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    return Registry(retrieve=retrieve)


def _dotted(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error) -> str:
    key = _dotted(error.absolute_path)
    if error.validator == "oneOf" and isinstance(error.instance, dict) and "dist" in error.instance:
        return _describe_dist(key, error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{key}: {error.message}; allowed keys here: {', '.join(allowed)}"
    hint = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{key}: {error.message}" + (f" ({hint})" if hint else "")


def _describe_dist(key: str, error) -> str:
    """A sampling distribution that matches none of the schema's ``oneOf`` branches: what is
    wrong for the ``dist`` it names (the branch of that name), and which keys it takes."""
    dist = error.instance["dist"]
    for index, branch in enumerate(error.validator_value):
        if branch.get("properties", {}).get("dist", {}).get("const") == dist:
            problems = [
                e.message for e in error.context or [] if e.relative_schema_path[0] == index
            ]
            takes = ", ".join(k for k in branch["properties"] if k != "dist")
            return f"{key}: dist {dist}: {'; '.join(problems)} (dist {dist} takes {takes})"
    names = [b.get("properties", {}).get("dist", {}).get("const") for b in error.validator_value]
    return f"{key}: dist {dist!r} is not one of {', '.join(map(str, names))}"


def iter_errors(config: dict, schema_file: str | os.PathLike) -> Iterator[str]:
    """Every schema violation of ``config`` as a readable line, filling defaults as it goes;
    then, on a schema-valid configuration, the checks a schema cannot express
    (:mod:`pfsdenoise.config_checks`)."""
    from pfsdenoise.config_checks import semantic_errors

    schema_file = Path(schema_file)
    with open(schema_file) as fh:
        schema = _load_yaml(fh)
    validator = _Validator(schema, registry=_registry(schema_file.parent))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    yield from (_describe(error) for error in errors)
    if not errors:
        yield from semantic_errors(config)


def _dist_keys(schema_dir: Path) -> dict[str, set[str]]:
    """Keys each sampling distribution takes, from ``sampling.schema.yaml``."""
    with open(schema_dir / "sampling.schema.yaml") as fh:
        branches = _load_yaml(fh)["$defs"]["dist"]["oneOf"]
    return {b["properties"]["dist"]["const"]: set(b["properties"]) for b in branches}


def replace_distributions(config: dict, layers: Sequence[dict], schema_dir: Path) -> None:
    """A config layer that names a sampling ``dist`` replaces that distribution: keys of
    another distribution left by the layers merged before it (``a`` and ``b`` of the default
    Beta under a new ``dist: uniform``) are dropped. Keys the replacing layer (or a later one)
    wrote itself are kept, so the schema still reports them to the user."""
    takes = _dist_keys(schema_dir)

    def entry(layer: Any, name: str) -> dict:
        sampling = layer.get("sampling") if isinstance(layer, dict) else None
        value = sampling.get(name) if isinstance(sampling, dict) else None
        return value if isinstance(value, dict) else {}

    sampling = config.get("sampling")
    for name, spec in sampling.items() if isinstance(sampling, dict) else ():
        if not isinstance(spec, dict) or spec.get("dist") not in takes:
            continue
        setters = [i for i, layer in enumerate(layers) if "dist" in entry(layer, name)]
        if not setters:
            continue
        written = set().union(*(entry(layer, name) for layer in layers[setters[-1] :]))
        for key in [k for k in spec if k not in takes[spec["dist"]] and k not in written]:
            del spec[key]


def validate_config(
    config: dict, schema_file: str | os.PathLike, layers: Sequence[dict] | None = None
) -> dict:
    """Validate ``config`` in place (defaults filled) and return it; raise :class:`ConfigError`
    listing every problem at once.

    ``layers`` are the configuration sources in the order they were merged into ``config``
    (the workflow's config.yaml, then what the command line gave); with them, a layer that
    switches a sampling distribution replaces it (:func:`replace_distributions`).
    """
    if layers is not None:
        replace_distributions(config, layers, Path(schema_file).parent)
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
    layers = [read_config_file(path) for path in paths]
    for layer in layers:
        update_config(config, copy.deepcopy(layer))
    return validate_config(config, schema_file or default_schema_file(), layers)


def read_config_file(path: str | os.PathLike, missing_ok: bool = False) -> dict:
    """One config file's mapping (empty for an empty file, or a missing one when
    ``missing_ok``, as Snakemake skips a missing ``configfile:`` given ``--configfile``)."""
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return {}
        raise ConfigError(f"config file {path} not found")
    with open(path) as fh:
        try:
            layer = _load_yaml(fh) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(layer, dict):
        raise ConfigError(f"{path}: a {type(layer).__name__}, not a mapping of config keys")
    return layer


def fill_defaults(instance: dict, ref: str, schema_file: str | os.PathLike | None = None) -> dict:
    """Validate one part of a configuration against the schema at ``ref`` (a reference into
    a section's schema, e.g. ``train.schema.yaml#/$defs/model``) and fill its defaults."""
    schema_file = Path(schema_file or default_schema_file())
    validator = _Validator({"$ref": ref}, registry=_registry(schema_file.parent))
    problems = [_describe(e) for e in validator.iter_errors(instance)]
    if problems:
        raise ConfigError(f"invalid {ref}:\n  - " + "\n  - ".join(problems))
    return instance
