"""Run a batch of chat requests against one model: cache, concurrency, re-asks, accounting.

``LLMService.run`` is synchronous for the workflow's scripts and async inside: up to
``spec.max_concurrency`` requests are in flight (llama.cpp: one, in-process). Valid answers are
committed to the cache the moment they arrive, so a killed or budget-stopped job loses nothing
it has paid for, and a rerun only sends what is still missing. A model with ``batch.enabled``
sends through :class:`~meshdistill.llm.batch.BatchRunner` instead: the same path up to the send
(cache, claims, budget, re-asks, validation), the sends gathered into provider batches.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.errors import ConfigError
from meshdistill.llm.accounting import Accountant, estimate_request_cost
from meshdistill.llm.backends import ChatBackend, ItemFailure, LlamaCppBackend, OpenAIBackend
from meshdistill.llm.batch import BatchRunner
from meshdistill.llm.cache import RequestCache, first_ask_key, request_key
from meshdistill.llm.errors import (
    BudgetExceededError,
    LLMAuthError,
    LLMError,
    LLMModelNotFoundError,
    LLMUnavailableError,
)
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.rating import rating_from_logprobs
from meshdistill.llm.structured import (
    correction_message,
    parse_reply,
    provider_schema,
    with_schema_instruction,
)
from meshdistill.llm.types import RATING_TOP_LOGPROBS, Call, LLMRequest, LLMResult

__all__ = [
    "CACHE_MODES",
    "BudgetExceededError",
    "LLMAuthError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMRequest",
    "LLMResult",
    "LLMService",
    "LLMUnavailableError",
]

#: use: serve cached answers; bypass: neither read nor write; refresh: ask again and overwrite.
CACHE_MODES = ("use", "bypass", "refresh")

#: Key used when the endpoint needs no authentication (local servers): the openai client
#: insists on some string.
NO_KEY_PLACEHOLDER = "not-needed"

BUDGET_SKIPPED = "budget exceeded: request not sent"
STOPPED = "run stopped by a fatal error: request not sent"

#: Longest reply kept in records, logs and re-asks (the cache keeps every reply whole): a model
#: that rambles must not turn one bad reply into megabytes of log and a huge re-ask.
DEFAULT_MAX_REPLY_CHARS = 8000

#: Seconds between looks at the shared cache while another process sends the same request.
CLAIM_POLL_S = 0.2


def capped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out (0 = no limit)."""
    if limit <= 0 or len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit} more characters not shown]"


class LLMService:
    """One model, one stage. ``attempts`` in results counts requests actually sent to the
    provider (retries and re-asks included; 0 when everything came from the cache)."""

    def __init__(
        self,
        spec: ModelSpec,
        cache: RequestCache | None,
        cache_mode: str = "use",
        max_reasks: int = 2,
        max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS,
        accountant: Accountant | None = None,
        stage: str = "",
        descriptor: str = "",
        env: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        backend_factory: Callable[[], ChatBackend] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if cache_mode not in CACHE_MODES:
            raise ConfigError("llm.cache_mode", f"must be one of {', '.join(CACHE_MODES)}")
        if max_reasks < 0:
            raise ConfigError("llm.max_reasks", "must not be negative")
        self.spec = spec
        self.cache = cache
        self.cache_mode = cache_mode
        self.max_reasks = max_reasks
        self.max_reply_chars = max_reply_chars
        self.accountant = accountant
        self.stage = stage
        self.descriptor = descriptor
        self._logger = logger or logging.getLogger("meshdistill.llm")
        self._rng = rng
        self._api_key = self._read_api_key(env if env is not None else os.environ)
        self._backend_factory = backend_factory or self._default_backend
        self._identity: dict[str, Any] | None = None
        self._budget_hit = False
        self._stopping = False
        self._in_flight: dict[str, asyncio.Future[dict[str, Any] | str]] = {}
        self._batch: BatchRunner | None = None
        self._claim_owner = f"{os.getpid()}:{uuid.uuid4().hex}"

    def __repr__(self) -> str:
        return f"LLMService(model_id={self.spec.id!r}, stage={self.stage!r})"

    def _read_api_key(self, env: Mapping[str, str]) -> str:
        name = self.spec.api_key_env
        if self.spec.provider != "openai" or name is None:
            return NO_KEY_PLACEHOLDER
        value = env.get(name, "")
        if not value:
            raise ConfigError(
                f"models.{self.spec.id}.api_key_env",
                f"environment variable {name} is not set or empty",
            )
        return value

    def _default_backend(self) -> ChatBackend:
        if self.spec.provider == "llama_cpp":
            return LlamaCppBackend(self.spec)
        return OpenAIBackend(self.spec, self._api_key, self._logger, self._rng)

    @property
    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            self._identity = self.spec.cache_identity()
        return self._identity

    def key_for(self, request: LLMRequest) -> str:
        """The cache key of the first ask of ``request``."""
        return first_ask_key(self.identity, request)

    def run(self, requests: Sequence[LLMRequest]) -> list[LLMResult]:
        """Answer every request; results come back in the order of ``requests``.

        Raises :class:`LLMAuthError`, :class:`LLMModelNotFoundError` or
        :class:`LLMUnavailableError` at once (in-flight answers are still cached), and
        :class:`BudgetExceededError` carrying all results once the budget cap stops new requests.
        """
        ids = [r.id for r in requests]
        if len(set(ids)) != len(ids):
            raise ValueError("request ids must be unique within one run")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run_all(requests))
        # Called from async code (e.g. a notebook): run on a private loop in a worker thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._run_all(requests)).result()

    async def _run_all(self, requests: Sequence[LLMRequest]) -> list[LLMResult]:
        self._budget_hit = False
        self._stopping = False
        identity = self.identity  # hashes a model file once, before any task starts
        limit = 1 if self.spec.provider == "llama_cpp" else self.spec.max_concurrency
        slots = asyncio.Semaphore(limit)
        backend = self._backend_factory()
        self._batch = self._batch_runner(backend)
        tasks = [
            asyncio.create_task(self._answer(request, backend, slots, identity))
            for request in requests
        ]
        try:
            if tasks:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            fatal = next(
                (t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()),
                None,
            )
            if fatal is not None:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise fatal
        finally:
            if self._batch is not None:
                await self._batch.aclose()
                self._batch = None
            await backend.aclose()
        results = [task.result() for task in tasks]
        self._log_summary(results)
        if self._budget_hit:
            skipped = sum(1 for r in results if r.error == BUDGET_SKIPPED)
            raise BudgetExceededError(
                f"model '{self.spec.id}' stage '{self.stage}': budget of "
                f"{self.accountant.budget_usd if self.accountant else None} USD reached; "
                f"{skipped} of {len(results)} requests not sent (answers so far are cached)",
                results,
            )
        return results

    def _batch_runner(self, backend: ChatBackend) -> BatchRunner | None:
        """The batch runner when this model goes through the batch API (``batch.enabled``)."""
        if not self.spec.batch.enabled:
            return None
        if not isinstance(backend, OpenAIBackend):
            raise ConfigError(
                f"models.{self.spec.id}.batch.enabled",
                "the batch API needs the OpenAI-compatible backend (provider openai)",
            )
        cache = self.cache if self.cache_mode != "bypass" else None
        return BatchRunner(backend, cache, self._logger, self._rng)

    def _log_summary(self, results: Sequence[LLMResult]) -> None:
        cached = sum(r.from_cache for r in results)
        failed = sum(r.value is None for r in results)
        self._logger.info(
            "model %s stage %s: %d requests, %d from cache, %d failed",
            self.spec.id,
            self.stage,
            len(results),
            cached,
            failed,
        )

    def _cached(self, key: str) -> dict[str, Any] | None:
        if self.cache is None or self.cache_mode != "use":
            return None
        return self.cache.get(key)

    def _record(self, prompt_tokens: int, completion_tokens: int, from_cache: bool) -> None:
        if self.accountant is not None:
            self.accountant.record(
                self.stage, self.descriptor, self.spec, prompt_tokens, completion_tokens, from_cache
            )

    async def _answer(
        self,
        request: LLMRequest,
        backend: ChatBackend,
        slots: asyncio.Semaphore,
        identity: Mapping[str, Any],
    ) -> LLMResult:
        schema = provider_schema(request.schema_name) if request.schema_name else None
        messages = [dict(m) for m in request.messages] if request.messages is not None else None
        if messages is not None and request.schema_name and self.spec.schema_in_prompt:
            messages = with_schema_instruction(messages, request.schema_name)
        tally = _Tally(
            request_id=request.id,
            model_id=self.spec.id,
            served_model=self.spec.model,
            max_reply_chars=self.max_reply_chars,
        )
        # Only a chat conversation can carry a correction; other replies are final at once.
        asks_allowed = self.max_reasks + 1 if request.reply == "json" and messages else 1
        problem = ""
        paid = False
        truncated = False
        for ask in range(1, asks_allowed + 1):
            call = Call(
                messages=messages,
                prompt=request.prompt,
                params=dict(request.params),
                schema_name=request.schema_name,
                schema=schema,
                top_logprobs=RATING_TOP_LOGPROBS if request.reply == "rating" else 0,
            )
            key = request_key(
                identity,
                messages,
                request.params,
                schema,
                prompt=request.prompt,
                rating_values=request.rating_values,
            )
            tally.cache_key = tally.cache_key or key
            stored = self._cached(key)
            from_cache = stored is not None
            if stored is None:
                outcome = await self._fetch_once(key, call, backend, slots, tally)
                if isinstance(outcome, str):  # not sent (budget, stop) or rejected by the server
                    return tally.result(None, outcome, from_cache=False, asks=ask - 1)
                stored, from_cache = outcome
            paid = paid or not from_cache
            tally.add(stored)
            self._record(stored["prompt_tokens"], stored["completion_tokens"], from_cache)
            value, problem = self._interpret(request, stored)
            truncated = stored.get("finish_reason") == "length"
            if value is not None:
                return tally.result(value, None, from_cache=not paid, asks=ask, truncated=truncated)
            self._logger.info("request %s ask %d: %s", request.id, ask, problem)
            if ask < asks_allowed and messages is not None and request.schema_name:
                messages = [
                    *messages,
                    {
                        "role": "assistant",
                        "content": capped(stored.get("content") or "", self.max_reply_chars),
                    },
                    {"role": "user", "content": correction_message(problem, request.schema_name)},
                ]
        if asks_allowed > 1:
            problem = f"no valid reply after {asks_allowed} asks; last problem: {problem}"
        return tally.result(
            None, problem, from_cache=not paid, asks=asks_allowed, truncated=truncated
        )

    async def _fetch_once(
        self,
        key: str,
        call: Call,
        backend: ChatBackend,
        slots: asyncio.Semaphore,
        tally: _Tally,
    ) -> tuple[dict[str, Any], bool] | str:
        """Send ``call`` unless an identical one is already in flight, in this process or (through
        a claim in the shared cache) in another; then wait for that reply instead (free: counted
        as served from the cache). Returns the stored reply and whether it was shared, or why
        nothing was sent."""
        pending = self._in_flight.get(key)
        if pending is not None:
            echoed = await asyncio.shield(pending)
            return (echoed, True) if isinstance(echoed, dict) else echoed
        future: asyncio.Future[dict[str, Any] | str] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        shared = False
        try:
            answered = await self._claim_or_wait(key)
            if answered is not None:  # another process paid for it while this one waited
                outcome: dict[str, Any] | str = answered
                shared = True
            else:
                try:
                    outcome = await self._send(key, call, backend, slots, tally)
                finally:
                    if self.cache is not None and self.cache_mode == "use":
                        self.cache.release(key, self._claim_owner)
        except BaseException as exc:
            future.set_result(f"the identical request failed: {exc}")
            raise
        finally:
            del self._in_flight[key]
        if not future.done():
            future.set_result(outcome)
        return (outcome, shared) if isinstance(outcome, dict) else outcome

    async def _claim_or_wait(self, key: str) -> dict[str, Any] | None:
        """Claim ``key`` in the shared cache, or wait while another process holds the claim;
        returns that process's answer when it arrives (None: this process sends)."""
        if self.cache is None or self.cache_mode != "use":
            return None
        # A claim outlives any honest send: every retry at its full timeout, plus slack (and,
        # for a batch, the wait for the batch).
        stale_after_s = self.spec.timeout_s * (self.spec.max_retries + 2)
        if self.spec.batch.enabled:
            stale_after_s += self.spec.batch.timeout_s
        while not self.cache.claim(key, self._claim_owner, stale_after_s):
            await asyncio.sleep(CLAIM_POLL_S)
            answered = self.cache.get(key)
            if answered is not None:
                return answered
        return self.cache.get(key)  # answered between the first look-up and the claim

    async def _send(
        self,
        key: str,
        call: Call,
        backend: ChatBackend,
        slots: asyncio.Semaphore,
        tally: _Tally,
    ) -> dict[str, Any] | str:
        if self._budget_hit:
            return BUDGET_SKIPPED
        reserved = 0.0
        if self.accountant is not None:
            texts = call.messages or [{"role": "prompt", "content": call.prompt or ""}]
            reserved = estimate_request_cost(self.spec, texts, call.params)
            if not self.accountant.reserve(reserved):
                self._budget_hit = True
                return BUDGET_SKIPPED
        batch = self._batch
        # A batch has no concurrency limit: every request waits in it at once.
        gate: contextlib.AbstractAsyncContextManager[Any] = (
            slots if batch is None else contextlib.nullcontext()
        )
        try:
            async with gate:
                if self._stopping:  # another request hit a fatal error while this one waited
                    return STOPPED
                if self._budget_hit:  # the cap was reached while this one waited
                    return BUDGET_SKIPPED
                if batch is not None:
                    completion = await batch.complete(key, call)
                else:
                    completion = await backend.complete(call)
        except LLMError:
            self._stopping = True
            raise
        except ItemFailure as failure:
            tally.attempts += failure.attempts
            return str(failure)
        finally:
            if self.accountant is not None:
                self.accountant.release(reserved)
        tally.attempts += completion.attempts
        stored = completion.to_stored()
        # Every paid reply is kept, valid or not, so that no rerun pays for it again.
        if self.cache is not None and self.cache_mode != "bypass":
            if not self.cache.put(key, stored):
                self._logger.error(
                    "a paid reply could not be written to %s; it is kept in %s and served from "
                    "there until the cache can take it back",
                    self.cache.path,
                    self.cache.spill_path,
                )
        return stored

    def _interpret(
        self, request: LLMRequest, stored: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        """The reply's value for the request's reply kind, or why it cannot be used."""
        content = stored.get("content")
        if request.reply == "rating":
            assert request.rating_values is not None
            value, problem = rating_from_logprobs(stored.get("top_logprobs"), request.rating_values)
            return value, problem or ""
        if request.reply == "text":
            if not isinstance(content, str) or not content.strip():
                return None, "the reply was empty"
            return {"text": content.strip()}, ""
        assert request.schema_name is not None
        value, problem = parse_reply(content, request.schema_name)
        if value is None and stored.get("finish_reason") == "length":
            limit = request.params.get("max_tokens", "the server's default")
            written = int(stored.get("completion_tokens") or 0)
            if isinstance(limit, int) and written < limit:
                # Stopped short of max_tokens: the server's context window was full.
                return None, (
                    f"the reply was cut off after {written} of max_tokens ({limit}) tokens "
                    f"before the JSON was complete: the server's context window is full "
                    f"(prompt {stored.get('prompt_tokens')} tokens); give the server a larger "
                    f"context (llama.cpp: --ctx-size / --n_ctx) or shorten the "
                    f"{self.stage or 'calling'} role's prompt"
                )
            return None, (
                f"the reply was cut off at max_tokens ({limit}) before the JSON was complete; "
                f"raise max_tokens in the params of the {self.stage or 'calling'} role"
            )
        return value, problem or "invalid reply"

    def close(self) -> None:
        """Release resources; the cache is the caller's to close."""
        return None


@dataclass
class _Tally:
    """What one request has cost so far across its asks."""

    request_id: str
    model_id: str
    served_model: str
    max_reply_chars: int = 0
    cache_key: str = ""
    raw: str | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, reply: Mapping[str, Any]) -> None:
        content = reply.get("content")
        self.raw = capped(content, self.max_reply_chars) if isinstance(content, str) else None
        self.prompt_tokens += int(reply.get("prompt_tokens", 0))
        self.completion_tokens += int(reply.get("completion_tokens", 0))
        self.served_model = str(reply.get("served_model") or self.served_model)

    def result(
        self,
        value: dict[str, Any] | None,
        error: str | None,
        from_cache: bool,
        asks: int,
        truncated: bool = False,
    ) -> LLMResult:
        return LLMResult(
            id=self.request_id,
            value=value,
            raw=self.raw,
            error=error,
            cache_key=self.cache_key,
            from_cache=from_cache,
            attempts=self.attempts,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            model=self.model_id,
            served_model=self.served_model,
            asks=asks,
            truncated=truncated,
        )
