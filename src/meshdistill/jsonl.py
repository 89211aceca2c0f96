"""JSONL reading and atomic, schema-validated writing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from meshdistill.errors import InputError
from meshdistill.fileio import atomic_write_text, canonical_json
from meshdistill.schemas import validate


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    str(path), f"invalid JSON: {exc.msg}", record=f"line {line_no}"
                ) from exc
            if not isinstance(value, dict):
                raise InputError(str(path), "expected a JSON object", record=f"line {line_no}")
            yield value


def write_jsonl(
    path: str | Path, records: Iterable[Mapping[str, Any]], schema_name: str | None = None
) -> int:
    """Validate every record (if a schema is given) and write them atomically; returns the count."""
    lines = []
    for index, record in enumerate(records, start=1):
        if schema_name:
            validate(record, schema_name, f"{path} record {index}")
        lines.append(canonical_json(record))
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)
