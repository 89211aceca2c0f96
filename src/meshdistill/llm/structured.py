"""Reading a model's JSON reply and checking it against the stage's schema."""

from __future__ import annotations

import json
import re
from typing import Any

from meshdistill.errors import SchemaValidationError
from meshdistill.schemas import load_schema, validate

# Models often wrap JSON in a Markdown fence even when told not to; accepting that saves a re-ask.
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)

#: Keys of a schema file that describe the file rather than the reply.
_META_KEYS = ("$schema", "$id")


def provider_schema(schema_name: str) -> dict[str, Any]:
    """The schema as sent to a provider (file metadata stripped)."""
    return {k: v for k, v in load_schema(schema_name).items() if k not in _META_KEYS}


def schema_label(schema_name: str) -> str:
    """A ``response_format`` name: OpenAI allows letters, digits, ``_`` and ``-`` only."""
    stem = schema_name.split(".schema.")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:64] or "reply"


def parse_reply(content: str | None, schema_name: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return ``(value, None)`` for a valid reply or ``(None, problem)`` explaining the fault."""
    if content is None or not content.strip():
        return None, "the reply was empty"
    text = content
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group("body")
    try:
        # strict=False accepts raw newlines and tabs inside strings, which small local models
        # emit and which carry no ambiguity; everything else must be well-formed JSON.
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        return None, f"the reply is not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(value, dict):
        return None, "the reply must be a JSON object"
    try:
        validate(value, schema_name, "reply")
    except SchemaValidationError as exc:
        return None, str(exc)
    return value, None


def correction_message(problem: str, schema_name: str) -> str:
    """The user turn appended after a bad reply when re-asking."""
    schema = json.dumps(provider_schema(schema_name), sort_keys=True, separators=(",", ":"))
    return (
        f"That reply could not be used: {problem}. "
        f"Reply again with only one JSON object that matches this JSON Schema: {schema}"
    )
