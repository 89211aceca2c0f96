"""JSONL reading and atomic, schema-validated writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from meshdistill.errors import InputError
from meshdistill.schemas import validate


def dumps(record: Mapping[str, Any]) -> str:
    """One canonical JSON line: sorted keys, so identical records give identical bytes."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder so a killed job never leaves half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(
    path: str | Path, records: Iterable[Mapping[str, Any]], schema_name: str | None = None
) -> int:
    """Validate every record (if a schema is given) and write them atomically; returns the count."""
    lines = []
    for index, record in enumerate(records, start=1):
        if schema_name:
            validate(record, schema_name, f"{path} record {index}")
        lines.append(dumps(record))
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)
