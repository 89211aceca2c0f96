"""Paid replies are never lost to a cache that cannot be written: a read-only cache stops the
job before the first request; a write that fails mid-run goes to a spill file that the next
run serves (and moves into the cache), so nothing is paid for twice."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from meshdistill.errors import InputError
from meshdistill.llm import LLMRequest, LLMService, ModelSpec, RequestCache
from meshdistill.stages.llm_roles import open_service
from meshdistill.testing.openai_server import OpenAITestServer


class _FailingWrites:
    """A connection whose writes fail as a full disk or read-only file makes them fail."""

    def __init__(self, connection: sqlite3.Connection, problem: str) -> None:
        self._connection = connection
        self._problem = problem

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith(("INSERT", "DELETE")):
            raise sqlite3.OperationalError(self._problem)
        return self._connection.execute(sql, *args)

    def close(self) -> None:
        self._connection.close()


def _spec(server: OpenAITestServer) -> ModelSpec:
    return ModelSpec(
        id="gen", provider="openai", model="test-model", base_url=server.base_url, max_retries=0
    )


def _requests() -> list[LLMRequest]:
    return [LLMRequest(id=f"r{i}", prompt=f"Question {i}:", params={"seed": i}) for i in range(3)]


def test_a_cache_that_cannot_be_written_stops_before_any_request(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path / "llm.sqlite")
    cache._conn = _FailingWrites(cache._conn, "attempt to write a readonly database")  # type: ignore[assignment]
    with pytest.raises(InputError, match=r"llm\.sqlite.*cannot be written.*llm\.cache_path"):
        cache.check_writable()


def test_open_service_checks_the_cache_before_the_first_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: RequestCache) -> None:
        raise InputError(str(self.path), "cannot be written")

    monkeypatch.setattr(RequestCache, "check_writable", refuse)
    llm = {"cache_path": str(tmp_path / "llm.sqlite"), "cache_mode": "use", "max_reasks": 0}
    llm["max_reply_chars"] = 100
    models = {"m": {"provider": "openai", "model": "x", "base_url": "http://127.0.0.1:9/v1"}}
    with pytest.raises(InputError, match="cannot be written"):
        open_service(
            "m", models, llm, stage="s", descriptor="d", threads=1, logger=logging.getLogger("t")
        )


def test_replies_whose_cache_write_fails_are_spilled_and_served_again(tmp_path: Path) -> None:
    path = tmp_path / "llm.sqlite"
    with OpenAITestServer(responder=lambda _request: "An answer.") as server:
        cache = RequestCache(path)
        cache._conn = _FailingWrites(cache._conn, "database or disk is full")  # type: ignore[assignment]
        first = LLMService(_spec(server), cache).run(_requests())
        cache.close()
        assert all(r.text == "An answer." for r in first)
        spill = path.with_name("llm.sqlite.spill.jsonl")
        assert len(spill.read_text().splitlines()) == 3
        # The next run finds every reply (moved into the cache) and sends nothing.
        again_cache = RequestCache(path)
        again = LLMService(_spec(server), again_cache).run(_requests())
        assert [r.text for r in again] == [r.text for r in first]
        assert all(r.from_cache for r in again) and server.total_requests == 3
        assert not spill.exists() and len(again_cache) == 3
        again_cache.close()


def test_long_replies_are_capped_in_results_but_kept_whole_in_the_cache(tmp_path: Path) -> None:
    long_reply = "word " * 2000
    with OpenAITestServer(responder=lambda _request: long_reply) as server:
        with RequestCache(tmp_path / "llm.sqlite") as cache:
            service = LLMService(_spec(server), cache, max_reply_chars=100)
            [result] = service.run(_requests()[:1])
            assert result.raw is not None and len(result.raw) < 200
            assert result.raw.endswith("more characters not shown]")
            assert cache.get(result.cache_key)["content"] == long_reply  # type: ignore[index]
