"""Provider backends: send one chat request, return the reply text and token usage.

The OpenAI-compatible backend owns its retries (the client's own are switched off) so every
attempt is counted and ``Retry-After`` is honoured. The llama.cpp backend runs one request at a
time in-process with grammar-constrained JSON decoding.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import random
import threading
from typing import Any, Protocol

from meshdistill.llm.errors import (
    ItemFailure,
    LLMAuthError,
    LLMError,
    LLMModelNotFoundError,
    LLMRequestRejectedError,
    LLMUnavailableError,
)
from meshdistill.llm.models import ModelSpec, resolve_model_path
from meshdistill.llm.rejections import is_malformed, server_reason, setting_to_change
from meshdistill.llm.retry import backoff_delay, retry_after_seconds
from meshdistill.llm.structured import structured_fields
from meshdistill.llm.types import Call, Completion

#: HTTP statuses worth retrying besides 429 and 5xx: request timeout and conflict.
RETRYABLE_4XX = frozenset({408, 409})


class ChatBackend(Protocol):
    async def complete(self, call: Call) -> Completion: ...

    async def aclose(self) -> None: ...


class _Transient(Exception):
    """A failure worth retrying, with the server's requested wait if it gave one."""

    def __init__(self, problem: str, retry_after_s: float | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after_s = retry_after_s


class OpenAIBackend:
    """Any OpenAI-compatible ``/chat/completions`` endpoint, through the ``openai`` package."""

    def __init__(
        self,
        spec: ModelSpec,
        api_key: str,
        logger: logging.Logger,
        rng: random.Random | None = None,
    ) -> None:
        import openai

        self._openai = openai
        self._spec = spec
        self._secret = api_key
        self._logger = logger
        self._rng = rng or random.Random()
        self._client = openai.AsyncOpenAI(
            base_url=spec.base_url, api_key=api_key, max_retries=0, timeout=spec.timeout_s
        )

    def __repr__(self) -> str:
        return f"OpenAIBackend(model_id={self._spec.id!r}, base_url={self._spec.base_url!r})"

    def _where(self) -> str:
        return f"model '{self._spec.id}' ({self._spec.model} at {self._spec.base_url or 'OpenAI'})"

    def _reason(self, exc: Any) -> str:
        response = getattr(exc, "response", None)
        text = response.text if response is not None else str(exc)
        return server_reason(exc.body, text, self._secret)

    def _fatal_for_status(self, exc: Any, call: Call) -> LLMError | None:
        return self.fatal_for(exc.status_code, exc.body, self._reason(exc), call)

    def fatal_for(self, status: int, body: Any, reason: str, call: Call) -> LLMError | None:
        """The error that stops the run for an HTTP ``status`` answer, or None (per item)."""
        if status in (401, 403):
            env = self._spec.api_key_env or "(no api_key_env configured)"
            return LLMAuthError(
                f"{self._where()}: the endpoint refused the API key (HTTP {status}: {reason}); "
                f"check the environment variable {env} (models.{self._spec.id}.api_key_env)"
            )
        if status == 404:
            body = body if isinstance(body, dict) else {}
            detail = body.get("error", body) if isinstance(body, dict) else {}
            code = str(detail.get("code", "")) if isinstance(detail, dict) else ""
            if "model" in code or "model" in reason.lower():
                return LLMModelNotFoundError(
                    f"{self._where()}: the endpoint does not serve this model (HTTP 404: "
                    f"{reason}); set models.{self._spec.id}.model to a model it serves"
                )
            return LLMError(
                f"{self._where()}: HTTP 404 ({reason}); check models.{self._spec.id}.base_url "
                "(it usually ends in /v1)"
            )
        if is_malformed(status, reason):
            return LLMRequestRejectedError(
                f"{self._where()}: the server rejected the request as malformed (HTTP {status}: "
                f"{reason}); not retried. Change {setting_to_change(self._spec, call, reason)}"
            )
        return None

    async def complete(self, call: Call) -> Completion:
        spec = self._spec
        route, body = self.request_body(call)
        # Pre-serialised once: the client would otherwise deep-copy the body per attempt.
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempts = 0
        while True:
            attempts += 1
            try:
                return await self._attempt(route, content, attempts, call)
            except _Transient as transient:
                if attempts > spec.max_retries:
                    raise LLMUnavailableError(
                        f"{self._where()}: gave up after {attempts} attempts "
                        f"(last: {transient.problem})"
                    ) from None
                delay = backoff_delay(
                    attempts - 1, spec.retry_base_delay_s, spec.retry_max_delay_s, self._rng
                )
                if transient.retry_after_s is not None:
                    delay = max(delay, min(transient.retry_after_s, spec.retry_after_cap_s))
                self._logger.warning(
                    "%s: %s, retry %d/%d in %.2f s",
                    self._where(),
                    transient.problem,
                    attempts,
                    spec.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)

    @property
    def openai(self) -> Any:
        """The ``openai`` module (its exception classes)."""
        return self._openai

    @property
    def client(self) -> Any:
        """The ``openai.AsyncOpenAI`` client (the batch runner uploads and polls through it)."""
        return self._client

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    def where(self) -> str:
        return self._where()

    def reason(self, exc: Any) -> str:
        """The server's reason for an ``openai.APIStatusError``, with the key masked."""
        return self._reason(exc)

    def request_body(self, call: Call) -> tuple[str, dict[str, Any]]:
        """The route and JSON body: chat completions for messages, completions for a prompt."""
        body: dict[str, Any] = {"model": self._spec.model}
        if call.messages is not None:
            route = "/chat/completions"
            body["messages"] = call.messages
            if call.top_logprobs:
                body["logprobs"] = True
                body["top_logprobs"] = call.top_logprobs
        else:
            route = "/completions"
            body["prompt"] = call.prompt
            if call.top_logprobs:
                body["logprobs"] = call.top_logprobs
        if call.schema_name is not None and call.schema is not None:
            body.update(
                structured_fields(self._spec.structured_output, call.schema_name, call.schema)
            )
        body.update(call.params)
        return route, body

    async def _attempt(self, route: str, content: bytes, attempts: int, call: Call) -> Completion:
        openai = self._openai
        try:
            # The client's generic ``post`` (its documented way to reach any endpoint) instead
            # of ``chat.completions.create``: the latter re-walks the whole body against the
            # SDK's TypedDicts on every call, which costs ~3 ms of CPU per request and alone
            # kept 32 requests in flight from reaching 1.15 x the ideal throughput. Our bodies
            # are already plain JSON built from validated config.
            # Raw bytes, parsed below: building the SDK's pydantic reply objects is the next
            # largest per-request cost and we only need a few fields.
            payload = await self._client.post(
                route,
                cast_to=bytes,
                content=content,
                options={"headers": {"Content-Type": "application/json"}},
            )
        except openai.APIStatusError as exc:
            fatal = self._fatal_for_status(exc, call)
            if fatal is not None:
                raise fatal from None
            status = exc.status_code
            problem = f"HTTP {status}: {self._reason(exc)}"
            if status == 429 or status >= 500 or status in RETRYABLE_4XX:
                raise _Transient(problem, retry_after_seconds(exc.response.headers)) from None
            raise ItemFailure(problem, attempts) from None
        except openai.APIConnectionError as exc:  # timeouts and dropped connections
            raise _Transient(f"{type(exc).__name__}: {exc}", None) from None
        return self._completion(payload, attempts)

    def _completion(self, payload: bytes, attempts: int) -> Completion:
        try:
            reply = json.loads(payload)
        except ValueError as exc:
            raise ItemFailure(
                f"{self._where()}: malformed chat completion response ({exc!r})", attempts
            ) from None
        return self.completion_from(reply, attempts)

    def completion_from(self, reply: Any, attempts: int) -> Completion:
        """A completion from a parsed response body (a call's reply or a batch output line's)."""
        try:
            choice = reply["choices"][0]
            # Chat completions put the text in a message, completions beside it.
            content = choice["message"].get("content") if "message" in choice else choice["text"]
            usage = reply.get("usage") or {}
            return Completion(
                content=content if isinstance(content, str) else None,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                served_model=str(reply.get("model") or self._spec.model),
                finish_reason=choice.get("finish_reason"),
                attempts=attempts,
                top_logprobs=first_token_logprobs(choice.get("logprobs")),
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ItemFailure(
                f"{self._where()}: malformed chat completion response ({exc!r})", attempts
            ) from None

    async def aclose(self) -> None:
        await self._client.close()


# One loaded model per (file, context, threads) per process; llama.cpp contexts are not
# thread-safe, so each model has its own lock and serves one request at a time.
_LLAMA_MODELS: dict[tuple[str, int, int | None, str | None], tuple[Any, threading.Lock]] = {}
_LLAMA_LOAD_LOCK = threading.Lock()


@atexit.register
def _close_llama_models() -> None:
    """Free loaded models before interpreter teardown: llama-cpp-python's own finaliser runs
    after its C bindings are gone and prints a spurious TypeError traceback at exit."""
    with _LLAMA_LOAD_LOCK:
        for model, _ in _LLAMA_MODELS.values():
            model.close()
        _LLAMA_MODELS.clear()


def _load_llama(spec: ModelSpec) -> tuple[Any, threading.Lock]:
    path = resolve_model_path(spec)
    key = (str(path), spec.n_ctx, spec.n_threads, spec.effective_chat_format)
    with _LLAMA_LOAD_LOCK:
        loaded = _LLAMA_MODELS.get(key)
        if loaded is None:
            try:
                import llama_cpp
            except ImportError as exc:
                raise LLMError(
                    f"model '{spec.id}': provider llama_cpp needs the llama-cpp-python package"
                ) from exc
            model = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=spec.n_ctx,
                n_threads=spec.n_threads,
                chat_format=spec.effective_chat_format,
                seed=0,
                verbose=False,
            )
            loaded = (model, threading.Lock())
            _LLAMA_MODELS[key] = loaded
        return loaded


class LlamaCppBackend:
    """In-process llama.cpp on a GGUF file: chat or plain completion; JSON constrained by a
    grammar built from the schema."""

    def __init__(self, spec: ModelSpec) -> None:
        self._spec = spec

    def _complete_sync(self, call: Call) -> Completion:
        model, lock = _load_llama(self._spec)
        params = dict(call.params)
        first_logits: list[Any] = []
        if call.top_logprobs:
            # llama-cpp-python's own ``logprobs`` needs ``logits_all=True``, which keeps a
            # vocabulary-sized row per context token (262k x 2048 floats for Gemma, 2 GiB);
            # a logits processor sees the one row that matters, the first reply token's.
            params["logits_processor"] = _first_logits_capture(first_logits)
        with lock:
            try:
                if call.messages is not None:
                    if call.schema is not None:
                        params["response_format"] = {"type": "json_object", "schema": call.schema}
                    reply = model.create_chat_completion(messages=call.messages, **params)
                else:
                    if call.schema is not None:
                        params["grammar"] = _json_grammar(call.schema)
                    reply = model.create_completion(prompt=call.prompt, **params)
            except ValueError as exc:  # e.g. prompt longer than n_ctx
                raise ItemFailure(f"llama.cpp rejected the request: {exc}", 1) from exc
            top = _top_logprobs(model, first_logits[0], call.top_logprobs) if first_logits else None
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        content = choice["message"].get("content") if "message" in choice else choice["text"]
        return Completion(
            content=content,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            served_model=self._spec.model,
            finish_reason=choice.get("finish_reason"),
            attempts=1,
            top_logprobs=top,
        )

    async def complete(self, call: Call) -> Completion:
        return await asyncio.to_thread(self._complete_sync, call)

    async def aclose(self) -> None:
        return None


def _first_logits_capture(store: list[Any]) -> Any:
    import llama_cpp
    import numpy as np

    def capture(_input_ids: Any, logits: Any) -> Any:
        if not store:
            store.append(np.array(logits, dtype=np.float64, copy=True))
        return logits

    return llama_cpp.LogitsProcessorList([capture])


def _top_logprobs(model: Any, logits: Any, count: int) -> dict[str, float]:
    """The ``count`` likeliest next tokens and their log-probabilities (log-softmax)."""
    import numpy as np

    peak = float(logits.max())
    log_total = peak + float(np.log(np.exp(logits - peak).sum()))
    best = np.argsort(-logits, kind="stable")[:count]
    top: dict[str, float] = {}
    for token_id in best:
        text = model.detokenize([int(token_id)]).decode("utf-8", errors="replace")
        # Two ids can decode to the same text; keep the likelier (first) one.
        top.setdefault(text, round(float(logits[token_id]) - log_total, 6))
    return top


def _json_grammar(schema: dict[str, Any]) -> Any:
    import llama_cpp

    return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def first_token_logprobs(logprobs: Any) -> dict[str, float] | None:
    """The first reply token's top log-probabilities, from either response layout:
    chat (``content[0].top_logprobs`` as a list of ``{token, logprob}``) or completions
    (``top_logprobs[0]`` as a ``{token: logprob}`` mapping)."""
    if not isinstance(logprobs, dict):
        return None
    try:
        if isinstance(logprobs.get("content"), list):
            entries = logprobs["content"][0]["top_logprobs"]
            return {str(e["token"]): float(e["logprob"]) for e in entries}
        top = logprobs.get("top_logprobs")
        if isinstance(top, list) and top and isinstance(top[0], dict):
            return {str(token): float(value) for token, value in top[0].items()}
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None
