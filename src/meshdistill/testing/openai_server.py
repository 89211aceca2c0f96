"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

Serves ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models`` and the Files
and Batch APIs (``/v1/files``, ``/v1/batches``: see :mod:`meshdistill.testing.openai_batches`) on
127.0.0.1 with real response JSON (``max_tokens`` cuts a reply with ``finish_reason: length``,
``stop`` sequences end it, ``logprobs`` come in each route's own layout), so the real ``openai``
client can be driven against it. Like real servers it rejects malformed requests with HTTP 400:
an unknown ``response_format`` type, ``top_logprobs`` without ``logprobs``, a prompt that is not
a string. A *flavour* makes it accept exactly the structured-output fields one real server accepts
and refuse the rest the way that server does (llama-cpp-python's server, for one, answers a
``json_schema`` response format with HTTP 500), and ignore what that server ignores. It can add
latency, demand an API
key, serve only some models, inject faults (429 with ``Retry-After``, 5xx, dropped connections,
invalid JSON) and counts what it saw: requests, requests per message hash, and the most requests
ever in flight at once.

Run standalone (used by the benchmark so the server does not share the client's interpreter)::

    python -m meshdistill.testing.openai_server --latency 0.2

It prints its base URL on the first line, serves counters at ``GET /v1/_stats`` and stops on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from meshdistill.testing.openai_batches import BatchAPI

#: A responder returns the reply text, or ``{"content": text, "top_logprobs": {token: logprob}}``
#: to control the first token's log-probabilities.
Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]
FaultPicker = Callable[[int, dict[str, Any]], str | None]
#: A reply: HTTP status, JSON body (or raw bytes: a file's content) and extra headers.
Answer = tuple[int, "dict[str, Any] | bytes", dict[str, str]]

#: Fault names understood in ``faults``: HTTP statuses "400", "429", "500", "502", "503", plus
#: "context_length" (a 400 refusing this one prompt as too long, as OpenAI words it), "drop"
#: (close the connection without answering), "invalid_json" (a reply that is not JSON) and "ok"
#: (no fault; a placeholder to fault a later request).
FAULTS = ("400", "429", "500", "502", "503", "context_length", "drop", "invalid_json", "ok")

#: Characters per reported token in the ``usage`` block (a rough English average).
CHARS_PER_TOKEN = 4
#: Seconds an idle keep-alive connection is held before its thread gives up.
IDLE_CONNECTION_TIMEOUT_S = 30.0
#: Pending connections the listening socket queues; must exceed the clients' concurrency.
LISTEN_BACKLOG = 512
#: Seconds between the serving loop's looks at a shutdown request (the stdlib default is 0.5).
SHUTDOWN_POLL_S = 0.05
#: Counters as JSON (not an OpenAI route; lets a parent process read a standalone server).
STATS_PATH = "/v1/_stats"


def messages_hash(messages: Sequence[Mapping[str, Any]]) -> str:
    """Hash of a conversation, the unit the server counts repeated requests by."""
    text = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Most alternatives a request may ask for per token (OpenAI's limit).
MAX_TOP_LOGPROBS = 20
RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")

#: Real servers the test server can imitate, and the ``response_format`` types each takes.
FLAVOUR_RESPONSE_FORMATS: dict[str, tuple[str, ...]] = {
    "openai": RESPONSE_FORMAT_TYPES,
    "vllm": (*RESPONSE_FORMAT_TYPES, "structural_tag"),
    "llama_cpp_server": RESPONSE_FORMAT_TYPES,
    "llama_cpp_python": ("text", "json_object"),
    "ollama": RESPONSE_FORMAT_TYPES,
}
FLAVOURS = tuple(FLAVOUR_RESPONSE_FORMATS)
#: Flavours whose JSON mode honours a ``schema`` beside ``type: json_object``.
_JSON_OBJECT_SCHEMA_FLAVOURS = frozenset({"llama_cpp_python", "llama_cpp_server"})
#: Top-level grammar fields, and the flavours that honour them (others ignore or reject them).
_GRAMMAR_FIELDS = ("json_schema", "grammar", "guided_json")
_GRAMMAR_FLAVOURS = {"llama_cpp_server": ("json_schema", "grammar"), "vllm": ("guided_json",)}
#: Where a prompt states its schema (llm.structured.schema_instruction); a model that follows
#: instructions replies in that shape, so the test server does too.
_STATED_SCHEMA = re.compile(r"matches this JSON Schema: (\{.*\})\s*$", re.DOTALL)
#: How many request bodies the server keeps for tests to inspect.
KEPT_BODIES = 64


def _last_user_text(request: Mapping[str, Any]) -> str:
    if isinstance(request.get("prompt"), str):
        return str(request["prompt"])
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _fit(text: str, min_length: int, max_length: int) -> str:
    while len(text) < min_length:
        text = f"{text} {text}".strip() or "x" * min_length
    return text[:max_length]


def value_for_schema(schema: Mapping[str, Any], seed_text: str, name: str = "value") -> Any:
    """A deterministic value satisfying the simple JSON Schemas used by the prompts."""
    digest = hashlib.sha256(f"{name}:{seed_text}".encode()).hexdigest()
    if "enum" in schema:
        options = list(schema["enum"])
        return options[int(digest, 16) % len(options)]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        return {
            key: value_for_schema(sub, seed_text, key) for key, sub in sorted(properties.items())
        }
    if kind == "string":
        snippet = " ".join(seed_text.split())[:120]
        text = f"What does {snippet} show about {name} ({digest[:8]})?"
        return _fit(text, int(schema.get("minLength", 0)), int(schema.get("maxLength", 10**6)))
    if kind in ("integer", "number"):
        low = int(schema.get("minimum", 0))
        high = int(schema.get("maximum", low + 100))
        return low + int(digest, 16) % (high - low + 1)
    if kind == "boolean":
        return int(digest, 16) % 2 == 0
    if kind == "array":
        count = int(schema.get("minItems", 1))
        items = schema.get("items", {"type": "string"})
        return [value_for_schema(items, f"{seed_text}#{i}", name) for i in range(count)]
    return None


def schema_responder(request: Mapping[str, Any]) -> str:
    """Default responder: JSON matching the request's ``response_format`` schema, derived from
    the last user message and its hash (so equal requests get equal replies)."""
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is None:
        schema = response_format.get("schema") or request.get("json_schema")
    if schema is None:
        stated = _STATED_SCHEMA.search(_last_user_text(request))
        schema = json.loads(stated.group(1)) if stated else None
    if schema is None:
        schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    return json.dumps(value_for_schema(schema, _last_user_text(request)), sort_keys=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (~40 ms on Linux), which would dominate a 200 ms endpoint.
    disable_nagle_algorithm = True
    server: _Server
    timeout = IDLE_CONNECTION_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def handle(self) -> None:
        # A client that gave up (timeout, cancelled run, killed process) is normal here.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(
        self, status: int, message: str, code: str, headers: Mapping[str, str] | None = None
    ) -> None:
        payload = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        self._send_json(status, payload, headers)

    def _authorised(self) -> bool:
        expected = self.server.owner.api_key
        if expected is None:
            return True
        if self.headers.get("Authorization", "") == f"Bearer {expected}":
            return True
        self._error(401, "Incorrect API key provided.", "invalid_api_key")
        return False

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path.rstrip("/") == STATS_PATH:
            self._send_json(200, self.server.owner.stats())
            return
        if self.path.startswith(("/v1/files", "/v1/batches")):
            if self._authorised():
                self._send_answer(self.server.owner.batch_api.get(self.path.rstrip("/")))
            return
        if self.path.rstrip("/") != "/v1/models":
            self._error(404, f"no route {self.path}", "not_found")
            return
        if not self._authorised():
            return
        models = self.server.owner.models or ("test-model",)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in models]
        self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        route = self.path.rstrip("/")
        owner = self.server.owner
        if route.startswith(("/v1/files", "/v1/batches")):
            if self._authorised():
                self._send_answer(
                    owner.batch_api.post(route, raw, self.headers.get("Content-Type", ""))
                )
            return
        if route not in ("/v1/chat/completions", "/v1/completions"):
            self._error(404, f"no route {self.path}", "not_found")
            return
        try:
            request = json.loads(raw)
        except json.JSONDecodeError:
            self._error(400, "body is not JSON", "invalid_json")
            return
        answer = owner.respond(
            request, chat=route == "/v1/chat/completions", authorization=self._authorization()
        )
        if answer is None:  # the "drop" fault
            self.close_connection = True
            return
        self._send_answer(answer)

    def _authorization(self) -> str:
        return self.headers.get("Authorization", "")

    def _send_answer(self, answer: Answer) -> None:
        status, payload, headers = answer
        if isinstance(payload, bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self._send_json(status, payload, headers)


def error_answer(
    status: int, message: str, code: str | None, headers: Mapping[str, str] | None = None
) -> Answer:
    """An OpenAI-style error reply."""
    payload = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return status, payload, dict(headers or {})


def request_problem(request: Mapping[str, Any], chat: bool) -> str | None:
    """Why a real server would reject the request with HTTP 400, or None."""
    if not isinstance(request.get("model"), str):
        return "'model' is required"
    if chat:
        messages = request.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
        ):
            return "'messages' must be a non-empty list of messages"
        if request.get("top_logprobs") is not None and not request.get("logprobs"):
            return "'top_logprobs' requires 'logprobs' to be true"
        top = request.get("top_logprobs") or 0
    else:
        if not isinstance(request.get("prompt"), str):
            return "'prompt' must be a string"
        logprobs = request.get("logprobs")
        if logprobs is not None and (isinstance(logprobs, bool) or not isinstance(logprobs, int)):
            return "'logprobs' must be an integer for completions"
        top = logprobs or 0
    if not 0 <= int(top) <= MAX_TOP_LOGPROBS:
        return f"at most {MAX_TOP_LOGPROBS} top log-probabilities may be requested"
    response_format = request.get("response_format")
    if response_format is not None:
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in RESPONSE_FORMAT_TYPES:
            return (
                f"response_format.type {kind!r} is not supported; use one of "
                f"{', '.join(RESPONSE_FORMAT_TYPES)}"
            )
    max_tokens = request.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "'max_tokens' must be a positive integer"
    return None


def flavour_refusal(request: Mapping[str, Any], chat: bool, flavour: str) -> tuple[int, str] | None:
    """The status and message with which the ``flavour`` server refuses the request's
    structured-output fields, or None when it takes them."""
    response_format = request.get("response_format")
    takes_format = chat or flavour not in ("llama_cpp_python",)
    if isinstance(response_format, dict) and takes_format:
        kind = response_format.get("type")
        accepted = FLAVOUR_RESPONSE_FORMATS[flavour]
        if kind not in accepted:
            if flavour == "llama_cpp_python":
                options = " or ".join(f"'{t}'" for t in accepted)
                return 500, (
                    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
                    f"'response_format', 'type'), 'msg': \"Input should be {options}\", "
                    f"'input': {kind!r}}}\n\n  File \"server/app.py\", in "
                    "create_chat_completion\n    POST /v1/chat/completions"
                )
            return 400, f"response_format type {kind!r} is not supported by this server"
        if kind == "json_schema" and flavour == "openai":
            problem = _openai_schema_problem(response_format.get("json_schema"))
            if problem is not None:
                return 400, problem
    if flavour == "openai":
        extra = [name for name in _GRAMMAR_FIELDS if name in request]
        if extra:
            return 400, f"Unrecognized request argument supplied: {extra[0]}"
    return None


def _openai_schema_problem(spec: Any) -> str | None:
    from meshdistill.llm.structured import strict_compatible

    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        return "Missing required parameter: 'response_format.json_schema.name'."
    if not isinstance(spec.get("schema"), dict):
        return "Missing required parameter: 'response_format.json_schema.schema'."
    if spec.get("strict") and not strict_compatible(spec["schema"]):
        return (
            f"Invalid schema for response_format '{spec['name']}': with strict true every "
            "object needs 'additionalProperties': false and every property in 'required'."
        )
    return None


def as_seen(request: dict[str, Any], chat: bool, flavour: str) -> dict[str, Any]:
    """The request without the fields the ``flavour`` server silently ignores, so that the
    responder answers only what the real server would have constrained."""
    seen = dict(request)
    response_format = seen.get("response_format")
    if isinstance(response_format, dict):
        if not chat and flavour == "llama_cpp_python":
            del seen["response_format"]  # its completions route has no such field
        elif "schema" in response_format and flavour not in _JSON_OBJECT_SCHEMA_FLAVOURS:
            seen["response_format"] = {k: v for k, v in response_format.items() if k != "schema"}
    honoured = _GRAMMAR_FLAVOURS.get(flavour, ())
    for name in _GRAMMAR_FIELDS:
        if name in seen and name not in honoured:
            del seen[name]
    if "guided_json" in seen:
        seen["json_schema"] = seen.pop("guided_json")
    return seen


def _apply_limits(content: str, request: Mapping[str, Any]) -> tuple[str, str]:
    """Cut the reply at the first stop sequence, else at ``max_tokens`` (finish_reason)."""
    stops = request.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    cuts = [content.index(s) for s in stops if s and s in content]
    if cuts:
        return content[: min(cuts)], "stop"
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and math.ceil(len(content) / CHARS_PER_TOKEN) > max_tokens:
        return content[: max_tokens * CHARS_PER_TOKEN], "length"
    return content, "stop"


def _first_token(content: str) -> str:
    words = content.split(" ", 1)
    return words[0] if words and words[0] else content[:1]


def _ranked(top: Mapping[str, float], count: int) -> list[tuple[str, float]]:
    return sorted(top.items(), key=lambda item: (-item[1], item[0]))[: max(count, 1)]


def _chat_logprobs(top: Mapping[str, float], count: int) -> dict[str, Any]:
    ranked = _ranked(top, count)
    token, logprob = ranked[0]
    alternatives = [
        {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in ranked[:count]
    ]
    return {
        "content": [
            {
                "token": token,
                "logprob": logprob,
                "bytes": list(token.encode("utf-8")),
                "top_logprobs": alternatives,
            }
        ]
    }


def _completion_logprobs(top: Mapping[str, float], count: int) -> dict[str, Any]:
    ranked = _ranked(top, count)
    token, logprob = ranked[0]
    return {
        "tokens": [token],
        "token_logprobs": [logprob],
        "top_logprobs": [dict(ranked[:count])],
        "text_offset": [0],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    owner: OpenAITestServer


class OpenAITestServer:
    """Context manager running the server on a background thread; ``base_url`` ends in /v1."""

    def __init__(
        self,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        faults: Sequence[str] = (),
        fault_picker: FaultPicker | None = None,
        retry_after_s: float = 1.0,
        port: int = 0,
        flavour: str = "openai",
        context_tokens: int | None = None,
    ) -> None:
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; known: {', '.join(FLAVOURS)}")
        self.flavour = flavour
        #: Prompt plus reply tokens the "model" holds (None = unlimited).
        self.context_tokens = context_tokens
        #: The latest request bodies the server accepted, as received (oldest first).
        self.bodies: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEPT_BODIES)
        self.responder: Responder = responder or schema_responder
        self.latency_s = latency_s
        self.api_key = api_key
        self.models = tuple(models) if models is not None else None
        self.faults = tuple(faults)
        self.fault_picker = fault_picker
        self.retry_after_s = retry_after_s
        self._port = port
        self._lock = threading.Lock()
        self.total_requests = 0
        #: Requests refused as malformed (not counted in ``total_requests``).
        self.refused = 0
        self.answered = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.per_hash: collections.Counter[str] = collections.Counter()
        #: Each distinct request body (messages or prompt with its sampling parameters: a retry
        #: with the next seed is another request) and how often it came.
        self.per_request: collections.Counter[str] = collections.Counter()
        #: Files and batches (``/v1/files``, ``/v1/batches``); ``batch_api.fate`` steers them.
        self.batch_api = BatchAPI(self)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- answering -----------------------------------------------------------------------
    def respond(self, request: Any, chat: bool, authorization: str | None) -> Answer | None:
        """The reply to one chat or completion request, as status, JSON and headers; None when
        the "drop" fault closes the connection instead. ``authorization`` is the request's
        header (None: a batch line, authorised with its batch)."""
        if not isinstance(request, dict):
            self._refused()
            return error_answer(400, "the request body must be a JSON object", "invalid_request")
        problem = request_problem(request, chat=chat)
        if problem is not None:
            self._refused()
            return error_answer(400, problem, "invalid_request_error")
        refusal = flavour_refusal(request, chat, self.flavour)
        if refusal is not None:
            self._refused()
            status, message = refusal
            if status >= 500:
                # As llama-cpp-python's server does: its request validation escapes as a 500.
                payload = {"message": message, "type": "internal_server_error", "param": None}
                return status, {"error": {**payload, "code": None}}, {}
            return error_answer(status, message, "invalid_request_error")
        index = self._arrive(request)
        try:
            if authorization is not None and not self.key_accepted(authorization):
                return error_answer(401, "Incorrect API key provided.", "invalid_api_key")
            return self._completion(as_seen(request, chat, self.flavour), index, chat)
        finally:
            self._leave()

    def key_accepted(self, authorization: str) -> bool:
        return self.api_key is None or authorization == f"Bearer {self.api_key}"

    def _completion(self, request: dict[str, Any], index: int, chat: bool) -> Answer | None:
        model = str(request.get("model", ""))
        if self.models is not None and model not in self.models:
            return error_answer(404, f"The model '{model}' does not exist", "model_not_found")
        fault = self._fault(index, request)
        if fault == "context_length":
            message = "This model's maximum context length is 2048 tokens; reduce the prompt."
            return error_answer(400, message, "context_length_exceeded")
        if fault in ("400", "429", "500", "502", "503"):
            headers = {"Retry-After": f"{self.retry_after_s:g}"} if fault == "429" else {}
            return error_answer(int(fault), f"injected {fault}", f"injected_{fault}", headers)
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        if fault == "drop":
            return None
        reply: dict[str, Any] = {"content": "this is not JSON {"}
        if fault != "invalid_json":
            produced = self.responder(request)
            reply = {"content": produced} if isinstance(produced, str) else dict(produced)
        content, finish_reason = _apply_limits(str(reply["content"]), request)
        top: dict[str, float] = dict(
            reply.get("top_logprobs") or {_first_token(content): math.log(0.9)}
        )
        prompt_text = (
            str(request["prompt"])
            if not chat
            else "".join(str(m.get("content", "")) for m in request.get("messages", []))
        )
        prompt_tokens = math.ceil(len(prompt_text) / CHARS_PER_TOKEN)
        room = None if self.context_tokens is None else self.context_tokens - prompt_tokens
        if room is not None and math.ceil(len(content) / CHARS_PER_TOKEN) > room:
            # As llama.cpp's servers do: a full context ends the reply, reported as "length".
            content, finish_reason = content[: max(room, 0) * CHARS_PER_TOKEN], "length"
        completion_tokens = math.ceil(len(content) / CHARS_PER_TOKEN)
        self._answered()
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason, "logprobs": None}
        if chat:
            choice["message"] = {"role": "assistant", "content": content}
            if request.get("logprobs"):
                choice["logprobs"] = _chat_logprobs(top, int(request.get("top_logprobs") or 0))
        else:
            choice["text"] = content
            if request.get("logprobs"):
                choice["logprobs"] = _completion_logprobs(top, int(request["logprobs"]))
        payload = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{index}",
            "object": "chat.completion" if chat else "text_completion",
            "created": 0,
            "model": model,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, payload, {}

    # --- counters -----------------------------------------------------------------------
    def _arrive(self, request: Mapping[str, Any]) -> int:
        with self._lock:
            index = self.total_requests
            self.total_requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.bodies.append(dict(request))
            self.per_hash[messages_hash(request.get("messages", []))] += 1
            self.per_request[json.dumps(request, sort_keys=True)] += 1
            return index

    def _refused(self) -> None:
        with self._lock:
            self.refused += 1

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answered(self) -> None:
        with self._lock:
            self.answered += 1

    def _fault(self, index: int, request: dict[str, Any]) -> str | None:
        if self.fault_picker is not None:
            picked = self.fault_picker(index, request)
            if picked is not None:
                return picked
        if index < len(self.faults) and self.faults[index] != "ok":
            return self.faults[index]
        return None

    def count_for(self, messages: Sequence[Mapping[str, Any]]) -> int:
        """How many times this exact conversation was requested."""
        with self._lock:
            return self.per_hash[messages_hash(messages)]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_requests": self.total_requests,
                "answered": self.answered,
                "max_in_flight": self.max_in_flight,
                "distinct_conversations": len(self.per_hash),
            }

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAITestServer:
        httpd = _Server(("127.0.0.1", self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        # A short poll interval: stop() waits up to one interval for the serving loop.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--flavour", choices=FLAVOURS, default="openai")
    args = parser.parse_args(argv)
    stop = threading.Event()
    # Runs until SIGTERM/SIGINT; it never reads stdin (which may be a terminal, /dev/null or
    # anything else a parent left behind). Counters are served at GET /v1/_stats.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with OpenAITestServer(
        latency_s=args.latency, api_key=args.api_key, port=args.port, flavour=args.flavour
    ) as server:
        # The first line tells a parent process where to connect.
        print(server.base_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
