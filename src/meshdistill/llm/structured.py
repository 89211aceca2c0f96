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


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes ``schema``: every object closed
    (``additionalProperties: false``) with every property required."""
    if isinstance(schema, list):
        return all(strict_compatible(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", [])) != set(properties):
            return False
    return all(strict_compatible(value) for value in schema.values())


def structured_fields(mode: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request body fields that ask an OpenAI-compatible server for JSON matching
    ``schema`` in structured-output ``mode`` (see ``models.STRUCTURED_OUTPUT_MODES``)."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_label(schema_name),
                    "schema": schema,
                    "strict": strict_compatible(schema),
                },
            }
        }
    if mode == "json_object_schema":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    if mode == "grammar":
        return {"json_schema": schema}
    return {}


def schema_instruction(schema_name: str) -> str:
    """What a prompt says when the server cannot be given the schema itself."""
    schema = json.dumps(provider_schema(schema_name), sort_keys=True, separators=(",", ":"))
    return f"Reply with only one JSON object that matches this JSON Schema: {schema}"


def with_schema_instruction(
    messages: list[dict[str, str]], schema_name: str
) -> list[dict[str, str]]:
    """``messages`` with the schema stated at the end of the last user turn."""
    stated = [dict(m) for m in messages]
    for message in reversed(stated):
        if message.get("role") == "user":
            message["content"] = (
                f"{message.get('content', '')}\n\n{schema_instruction(schema_name)}"
            )
            return stated
    return [*stated, {"role": "user", "content": schema_instruction(schema_name)}]


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
    return f"That reply could not be used: {problem}. {schema_instruction(schema_name)}"
