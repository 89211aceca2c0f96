"""Load the JSON Schemas in the repository's ``schemas/`` folder and validate against them.

The schemas folder is the single source of truth for every artifact's shape. It is found
next to the source tree (the package is installed in editable mode by the project's setup),
or wherever ``MESHDISTILL_SCHEMAS`` points.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from meshdistill.errors import SchemaValidationError


def schemas_dir() -> Path:
    override = os.environ.get("MESHDISTILL_SCHEMAS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "schemas"


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    if not isinstance(data, dict):
        raise SchemaValidationError(path.name, str(path), "schema file is not a JSON object")
    return data


@cache
def _registry(folder: str) -> Registry:
    resources = []
    for path in sorted(Path(folder).glob("*.schema.*")):
        resources.append((path.name, Resource.from_contents(_read(path))))
    return Registry().with_resources(resources)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the schema ``schemas/<name>`` (e.g. ``article.schema.json``)."""
    return _read(schemas_dir() / name)


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=_registry(str(schemas_dir())))


def validate(instance: Any, schema_name: str, where: str) -> None:
    """Raise :class:`SchemaValidationError` naming ``where`` if ``instance`` does not match."""
    error = jsonschema.exceptions.best_match(_validator(schema_name).iter_errors(instance))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaValidationError(schema_name, where, f"at {path}: {error.message}")


def validate_records(records: Iterable[Mapping[str, Any]], schema_name: str, source: str) -> None:
    """Validate every record, naming the file and the 1-based line of the first bad one."""
    for line_no, record in enumerate(records, start=1):
        validate(record, schema_name, f"{source} line {line_no}")
