"""Send a model's requests through an OpenAI-style batch API instead of one call each.

The protocol (OpenAI, vLLM and others): the requests go up as one JSONL file (``POST /v1/files``,
purpose ``batch``), each line ``{custom_id, method, url, body}``; ``POST /v1/batches`` starts the
batch; ``GET /v1/batches/{id}`` reports its status until it is ``completed``, ``failed``,
``expired`` or ``cancelled``; the answers come back as JSONL files (``output_file_id`` and
``error_file_id``), one line per request carrying its ``custom_id`` and either a ``response``
(``status_code`` and ``body``, as the synchronous endpoint would have answered) or an ``error``.

The custom id of a request is its cache key, so answers map back without any state of this
process. Every submitted batch is recorded in the request cache before this process waits for it:
a run killed while a batch is pending finds it there and polls the same batch instead of paying
for it again, and every answer it brings is put in the cache (also those no request of the
current run asks for).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from meshdistill.llm.backends import RETRYABLE_4XX, OpenAIBackend
from meshdistill.llm.cache import RequestCache
from meshdistill.llm.errors import ItemFailure, LLMAuthError, LLMError, LLMUnavailableError
from meshdistill.llm.rejections import server_reason
from meshdistill.llm.retry import backoff_delay, retry_after_seconds
from meshdistill.llm.types import Call, Completion

#: The batch ``url``/``endpoint`` of each synchronous route the backend sends to.
BATCH_ENDPOINTS = {"/chat/completions": "/v1/chat/completions", "/completions": "/v1/completions"}
#: The only completion window OpenAI offers.
COMPLETION_WINDOW = "24h"
#: Statuses after which a batch changes no more.
FINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
#: Line error codes of requests a batch left unanswered when it expired or was cancelled.
UNANSWERED_CODES = frozenset({"batch_expired", "batch_cancelled"})
#: Seconds without a new request before the collected ones are submitted: the requests of a
#: run reach the runner within one pass of the event loop, re-asks within a few.
COLLECT_QUIET_S = 0.05
#: Largest input file OpenAI takes (200 MB); a larger request set is split into more batches.
MAX_INPUT_BYTES = 200 * 1024 * 1024
#: Name the input file is uploaded under (providers show it in their consoles).
INPUT_FILE_NAME = "meshdistill-batch.jsonl"
#: How an uploaded input file is recorded until its batch is created (then it takes the batch id).
UPLOAD_PREFIX = "upload:"
#: Seconds of clock difference allowed between this host and the provider when looking for the
#: batch an interrupted run created from its upload.
CLOCK_SLACK_S = 600.0

T = TypeVar("T")


class _Resend(Exception):
    """This request's line failed in a way worth sending again (HTTP 429/5xx)."""


@dataclass
class _Waiter:
    call: Call
    future: asyncio.Future[Completion]


@dataclass
class _Queued:
    key: str
    endpoint: str
    #: The request's line of the input file (JSON, no newline).
    line: str
    waiter: _Waiter


class BatchRunner:
    """Collects the calls of one service run into batches, submits, polls and takes them in.

    ``complete`` has the contract of a backend's: a :class:`Completion`, :class:`ItemFailure`
    for this request only, or an :class:`LLMError` that stops the run."""

    def __init__(
        self,
        backend: OpenAIBackend,
        cache: RequestCache | None,
        logger: logging.Logger,
        rng: random.Random | None = None,
    ) -> None:
        self._backend = backend
        self._spec = backend.spec
        self._settings = backend.spec.batch
        self._cache = cache
        self._logger = logger
        self._rng = rng or random.Random()
        self._queue: list[_Queued] = []
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        #: batch id -> request key -> the calls of this run waiting for it.
        self._waiting: dict[str, dict[str, list[_Waiter]]] = {}
        self._pollers: dict[str, asyncio.Task[None]] = {}
        #: Batches this runner submitted (a resumed one is not counted).
        self.submitted: list[str] = []

    def __repr__(self) -> str:
        return f"BatchRunner(model_id={self._spec.id!r})"

    def _where(self) -> str:
        return self._backend.where()

    async def complete(self, key: str, call: Call) -> Completion:
        attempts = 0
        while True:
            attempts += 1
            future = self._enqueue(key, call)
            try:
                completion = await future
            except _Resend as resend:
                if attempts > self._spec.max_retries:
                    raise LLMUnavailableError(
                        f"{self._where()}: gave up after {attempts} batch attempts (last: {resend})"
                    ) from None
                self._logger.warning(
                    "%s: a batch line failed (%s), sent again in the next batch (%d/%d)",
                    self._where(),
                    resend,
                    attempts,
                    self._spec.max_retries,
                )
                continue
            except ItemFailure as failure:
                raise ItemFailure(str(failure), attempts) from None
            return dataclasses.replace(completion, attempts=attempts)

    def _enqueue(self, key: str, call: Call) -> asyncio.Future[Completion]:
        waiter = _Waiter(call, asyncio.get_running_loop().create_future())
        pending = self._cache.open_batch_of(key, self._spec.id) if self._cache is not None else None
        if pending is not None:
            if pending not in self._pollers:
                self._logger.info(
                    "%s: %s from an earlier run still holds requests of this one: polling it",
                    self._where(),
                    pending,
                )
            self._watch(pending).setdefault(key, []).append(waiter)
            return waiter.future
        route, body = self._backend.request_body(call)
        endpoint = BATCH_ENDPOINTS[route]
        line = json.dumps(
            {"custom_id": key, "method": "POST", "url": endpoint, "body": body},
            ensure_ascii=False,
            sort_keys=True,
        )
        self._queue.append(_Queued(key, endpoint, line, waiter))
        self._wake.set()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_forever())
        return waiter.future

    # --- submitting ----------------------------------------------------------------------
    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            while True:  # until no request has joined for a quiet spell, or the batch is full
                seen = len(self._queue)
                await asyncio.sleep(COLLECT_QUIET_S)
                if len(self._queue) == seen or len(self._queue) >= self._settings.max_requests:
                    break
            self._wake.clear()
            taken, self._queue = self._queue, []
            for group in self._groups(taken):
                try:
                    await self._submit(group)
                except Exception as exc:  # every request of the group learns why
                    for queued in group:
                        if not queued.waiter.future.done():
                            queued.waiter.future.set_exception(exc)

    def _groups(self, taken: list[_Queued]) -> list[list[_Queued]]:
        """One endpoint per batch, at most ``max_requests`` lines and MAX_INPUT_BYTES each."""
        by_endpoint: dict[str, list[_Queued]] = {}
        for queued in taken:
            by_endpoint.setdefault(queued.endpoint, []).append(queued)
        groups: list[list[_Queued]] = []
        for _, items in sorted(by_endpoint.items()):
            group: list[_Queued] = []
            size = 0
            for queued in items:
                length = len(queued.line.encode("utf-8")) + 1
                if group and (
                    len(group) >= self._settings.max_requests or size + length > MAX_INPUT_BYTES
                ):
                    groups.append(group)
                    group, size = [], 0
                group.append(queued)
                size += length
            groups.append(group)
        return groups

    async def _submit(self, group: list[_Queued]) -> None:
        endpoint = group[0].endpoint
        data = "".join(f"{q.line}\n" for q in group).encode("utf-8")
        client = self._backend.client
        uploaded = await self._api(
            "upload the batch input file",
            lambda: client.files.create(
                file=(INPUT_FILE_NAME, data, "application/jsonl"), purpose="batch"
            ),
        )
        # Recorded before the batch exists: a run killed between the two finds the upload
        # and the batch made from it (or makes it), instead of uploading and paying again.
        upload_id = UPLOAD_PREFIX + uploaded.id
        if self._cache is not None:
            keys = [q.key for q in group]
            self._cache.record_batch(
                upload_id, self._spec.id, endpoint, uploaded.id, keys, status="uploaded"
            )
        batch = await self._create(uploaded.id, endpoint)
        if self._cache is not None:
            self._cache.adopt_batch(upload_id, batch.id)
        self.submitted.append(batch.id)
        self._logger.info(
            "%s: submitted batch %s with %d requests to %s",
            self._where(),
            batch.id,
            len(group),
            endpoint,
        )
        waiting = self._watch(batch.id)
        for queued in group:
            waiting.setdefault(queued.key, []).append(queued.waiter)

    # --- polling and taking in -----------------------------------------------------------
    def _watch(self, batch_id: str) -> dict[str, list[_Waiter]]:
        waiting = self._waiting.setdefault(batch_id, {})
        if batch_id not in self._pollers:
            self._pollers[batch_id] = asyncio.create_task(self._poll(batch_id))
        return waiting

    async def _create(self, input_file_id: str, endpoint: str) -> Any:
        client = self._backend.client
        return await self._api(
            "create the batch",
            lambda: client.batches.create(
                input_file_id=input_file_id,
                endpoint=endpoint,
                completion_window=COMPLETION_WINDOW,
                metadata={"meshdistill_model": self._spec.id},
            ),
        )

    async def _poll(self, watched: str) -> None:
        """Wait for the batch ``watched`` (a batch id, or an upload an earlier run recorded)."""
        try:
            batch_id = watched
            if watched.startswith(UPLOAD_PREFIX):
                batch_id = await self._batch_of_upload(watched)
            await self._poll_until_taken_in(batch_id, watched)
        except Exception as exc:
            for waiters in self._waiting.get(watched, {}).values():
                for waiter in waiters:
                    if not waiter.future.done():
                        waiter.future.set_exception(exc)
            self._waiting.pop(watched, None)
        finally:
            self._pollers.pop(watched, None)

    async def _batch_of_upload(self, upload_id: str) -> str:
        """The batch an interrupted run created from its recorded upload, found among the
        provider's batches (newest first); created now when that run stopped before."""
        assert self._cache is not None
        record = self._cache.batch_record(upload_id)
        assert record is not None
        file_id = str(record["input_file_id"])
        oldest = float(record["submitted_at"]) - CLOCK_SLACK_S
        found: str | None = None
        page = await self._api("list batches", lambda: self._backend.client.batches.list(limit=100))
        async for batch in page:
            if batch.input_file_id == file_id:
                found = batch.id
                break
            if batch.created_at < oldest:
                break
        if found is None:
            created = await self._create(file_id, str(record["endpoint"]))
            found = str(created.id)
            self.submitted.append(found)
        self._logger.info("%s: upload %s became batch %s", self._where(), file_id, found)
        self._cache.adopt_batch(upload_id, found)
        return found

    async def _poll_until_taken_in(self, batch_id: str, watched: str) -> None:
        client = self._backend.client
        deadline = time.monotonic() + self._settings.timeout_s

        def retrieve() -> Awaitable[Any]:
            return client.batches.retrieve(batch_id)

        while True:
            batch = await self._api(f"look at batch {batch_id}", retrieve)
            if batch.status in FINAL_STATUSES:
                break
            if time.monotonic() >= deadline:
                raise LLMUnavailableError(
                    f"{self._where()}: batch {batch_id} is still {batch.status} after "
                    f"{self._settings.timeout_s:g} s (models.{self._spec.id}.batch.timeout_s); "
                    "it stays with the provider, and the next run polls it again instead of "
                    "submitting its requests anew"
                )
            await asyncio.sleep(self._settings.poll_s)
        lines: dict[str, dict[str, Any]] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self._api(
                    f"download file {file_id} of batch {batch_id}",
                    functools.partial(client.files.content, file_id),
                )
                lines.update(self._read_lines(batch_id, content.content))
        self._take_in(batch, lines, watched)

    def _read_lines(self, batch_id: str, data: bytes) -> dict[str, dict[str, Any]]:
        lines: dict[str, dict[str, Any]] = {}
        for number, text in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
                lines[str(entry["custom_id"])] = entry
            except (ValueError, KeyError, TypeError):
                raise LLMError(
                    f"{self._where()}: line {number} of an output file of batch {batch_id} is "
                    f"not a batch result ({text[:200]!r})"
                ) from None
        return lines

    def _take_in(self, batch: Any, lines: dict[str, dict[str, Any]], watched: str) -> None:
        """Cache every answer of a finished batch, close it, then wake the calls waiting."""
        waiting = self._waiting.pop(watched, {})
        failure: LLMError | None = None
        if batch.status == "failed":
            errors = getattr(batch.errors, "data", None) or []
            told = "; ".join(
                f"line {e.line}: {e.message}" if e.line is not None else str(e.message)
                for e in errors[:5]
            )
            failure = LLMError(
                f"{self._where()}: the provider refused batch {batch.id} "
                f"({told or 'no reason given'}); nothing in it was answered or paid for. Fix "
                f"the request settings it names, or set models.{self._spec.id}.batch.enabled "
                "to false to send the requests one by one"
            )
        answered = 0
        for key, entry in lines.items():
            completion = self._answer_of(entry)
            if completion is not None:
                answered += 1
                if self._cache is not None:
                    self._cache.put(key, completion.to_stored())
        if self._cache is not None:
            self._cache.close_batch(batch.id, batch.status)
        self._logger.info(
            "%s: batch %s %s, %d answers taken in", self._where(), batch.id, batch.status, answered
        )
        for key, waiters in waiting.items():
            for waiter in waiters:
                if waiter.future.done():
                    continue
                if failure is not None:
                    waiter.future.set_exception(failure)
                    continue
                outcome = self._outcome(batch, lines.get(key), waiter.call)
                if isinstance(outcome, Completion):
                    waiter.future.set_result(outcome)
                else:
                    waiter.future.set_exception(outcome)

    def _answer_of(self, entry: dict[str, Any]) -> Completion | None:
        response = entry.get("response")
        if not isinstance(response, dict) or not 200 <= int(response.get("status_code") or 0) < 300:
            return None
        try:
            return self._backend.completion_from(response.get("body"), 1)
        except ItemFailure:
            return None

    def _outcome(
        self, batch: Any, entry: dict[str, Any] | None, call: Call
    ) -> Completion | Exception:
        """What one line means for its request, read as the synchronous path reads a reply."""
        unanswered = LLMUnavailableError(
            f"{self._where()}: batch {batch.id} ended {batch.status} before answering every "
            "request; the answers it gave are cached, and the next run submits the rest"
        )
        if entry is None:
            if batch.status in ("expired", "cancelled"):
                return unanswered
            return _Resend(f"batch {batch.id} returned no line for this request")
        response = entry.get("response")
        if isinstance(response, dict):
            status = int(response.get("status_code") or 0)
            body = response.get("body")
            if 200 <= status < 300:
                try:
                    return self._backend.completion_from(body, 1)
                except ItemFailure as failure:
                    return failure
            reason = server_reason(body, json.dumps(body), None)
            fatal = self._backend.fatal_for(status, body, reason, call)
            if fatal is not None:
                return fatal
            if status == 429 or status >= 500 or status in RETRYABLE_4XX:
                return _Resend(f"HTTP {status}: {reason}")
            return ItemFailure(f"HTTP {status}: {reason}", 1)
        found = entry.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or "")
        if code in UNANSWERED_CODES:
            return unanswered
        return ItemFailure(f"batch {batch.id}: {code or 'error'}: {error.get('message')}", 1)

    # --- the provider's batch and file endpoints -----------------------------------------
    async def _api(self, what: str, send: Callable[[], Awaitable[T]]) -> T:
        """One call to the files or batches API, retried like a request when transient."""
        openai = self._backend.openai
        attempts = 0
        while True:
            attempts += 1
            try:
                return await send()
            except openai.APIStatusError as exc:
                status = exc.status_code
                reason = self._backend.reason(exc)
                if status in (401, 403):
                    raise LLMAuthError(
                        f"{self._where()}: the endpoint refused the API key when asked to "
                        f"{what} (HTTP {status}: {reason}); check the environment variable "
                        f"{self._spec.api_key_env} (models.{self._spec.id}.api_key_env)"
                    ) from None
                if not (status == 429 or status >= 500 or status in RETRYABLE_4XX):
                    hint = (
                        f"; the endpoint may have no batch API: set "
                        f"models.{self._spec.id}.batch.enabled to false"
                        if status in (404, 405)
                        else ""
                    )
                    raise LLMError(
                        f"{self._where()}: could not {what} (HTTP {status}: {reason}){hint}"
                    ) from None
                problem, wait = (
                    f"HTTP {status}: {reason}",
                    retry_after_seconds(exc.response.headers),
                )
            except openai.APIConnectionError as exc:
                problem, wait = f"{type(exc).__name__}: {exc}", None
            if attempts > self._spec.max_retries:
                raise LLMUnavailableError(
                    f"{self._where()}: could not {what}; gave up after {attempts} attempts "
                    f"(last: {problem})"
                )
            delay = backoff_delay(
                attempts - 1, self._spec.retry_base_delay_s, self._spec.retry_max_delay_s, self._rng
            )
            if wait is not None:
                delay = max(delay, min(wait, self._spec.retry_after_cap_s))
            self._logger.warning(
                "%s: could not %s (%s), retry in %.2f s", self._where(), what, problem, delay
            )
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        tasks = [t for t in (self._flusher, *self._pollers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
