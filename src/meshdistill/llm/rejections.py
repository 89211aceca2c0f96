"""Reading a server's refusal: its own words, whether resending could help, what to change.

Servers word refusals differently (OpenAI and vLLM: HTTP 400 with ``error.message``; FastAPI
servers: 422 with ``detail``; llama-cpp-python's server: a request-validation error escaping as
HTTP 500), so the checks below look at the status and the message together.
"""

from __future__ import annotations

import json
import re
from typing import Any

from meshdistill.llm.models import ModelSpec
from meshdistill.llm.types import Call

#: Longest server message quoted in an error (the rest is cut, with an ellipsis).
MAX_REASON_CHARS = 400

#: A 5xx whose message says this is the request's fault, not the server's state.
_INVALID_REQUEST = re.compile(
    r"validation error|invalid|not supported|unsupported|input should be|unrecognized"
    r"|unknown (?:field|parameter|argument)|extra inputs|literal_error|bad request|malformed",
    re.IGNORECASE,
)
#: Refusals of one request's content (its length, its text) rather than of how it is built:
#: other requests of the run can still succeed.
_PER_ITEM = re.compile(
    r"context.length|context window|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (?:context|maximum)|content.(?:policy|filter|management)|invalid_prompt",
    re.IGNORECASE,
)
#: Where a traceback starts in a server's message (llama-cpp-python appends one).
_TRACEBACK = re.compile(r"\s+File \"|Traceback \(most recent call last\)")


def server_reason(body: Any, text: str, secret: str | None) -> str:
    """The server's own error message from a parsed error ``body`` (or the raw ``text``):
    traceback dropped, whitespace collapsed, trimmed, the key never echoed."""
    message: Any = body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("detail") or inner.get("msg") or inner
        else:
            message = inner
    if not message:
        message = text
    if not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False, default=str)
    message = _TRACEBACK.split(message, maxsplit=1)[0]
    message = " ".join(message.split())
    if secret:
        message = message.replace(secret, "***")
    if len(message) > MAX_REASON_CHARS:
        message = message[: MAX_REASON_CHARS - 3].rstrip() + "..."
    return message or "(no message)"


def is_malformed(status: int, reason: str) -> bool:
    """Whether the server refused how the request is built (no resend can succeed)."""
    if status in (400, 422):
        return not is_per_item(reason)
    return status >= 500 and bool(_INVALID_REQUEST.search(reason))


def is_per_item(reason: str) -> bool:
    return bool(_PER_ITEM.search(reason))


def setting_to_change(spec: ModelSpec, call: Call, reason: str) -> str:
    """The setting most likely behind a refusal, with what to do about it."""
    lowered = reason.lower()
    structured = call.schema is not None and any(
        word in lowered
        for word in ("response_format", "json_schema", "json_object", "schema", "grammar", "guided")
    )
    if structured:
        return (
            f"models.{spec.id}.structured_output (now {spec.structured_output}): pick a mode "
            "this server accepts (json_schema, json_object_schema, json_object, grammar, none); "
            "`meshdistill check-models --all-modes` tries each"
        )
    if "logprob" in lowered:
        return (
            f"models.{spec.id}.prompt_mode (now {spec.effective_prompt_mode}): rating replies "
            "need log-probabilities from the server; use prompt_mode chat with a JSON judge"
        )
    for name in sorted(call.params):
        if name in lowered:
            return f"the params of the role using model '{spec.id}': drop or change '{name}'"
    if "model" in lowered:
        return f"models.{spec.id}.model (now {spec.model!r})"
    return f"the settings under models.{spec.id} (the server's reason above says which)"
