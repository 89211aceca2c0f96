"""The batch API path (models.<id>.batch) against the test server's /v1/files and /v1/batches,
through the real openai client."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from meshdistill.errors import ConfigError
from meshdistill.llm import (
    Accountant,
    LLMAuthError,
    LLMError,
    LLMRequest,
    LLMService,
    LLMUnavailableError,
    ModelSpec,
    RequestCache,
)
from meshdistill.llm import batch as batch_module
from meshdistill.llm.backends import OpenAIBackend
from meshdistill.llm.models import BatchSettings, check_batch_settings
from meshdistill.llm.structured import provider_schema
from meshdistill.llm.types import Call
from meshdistill.testing.openai_server import OpenAITestServer

QUESTION = "llm_question.schema.json"
FAST_BATCH = {"enabled": True, "poll_s": 0.02, "timeout_s": 20.0, "max_requests": 100}


def batch_spec(server: OpenAITestServer, **batch: Any) -> ModelSpec:
    return ModelSpec.from_config(
        "gen",
        {
            "provider": "openai",
            "model": "test-model",
            "base_url": server.base_url,
            "max_retries": 2,
            "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05,
            "price_input_per_mtok": 2.0,
            "price_output_per_mtok": 8.0,
            "batch": {**FAST_BATCH, **batch},
        },
    )


def requests(count: int, prefix: str = "abstract") -> list[LLMRequest]:
    return [
        LLMRequest(
            id=f"r{i}",
            messages=[
                {"role": "system", "content": "Reply with JSON only."},
                {"role": "user", "content": f"{prefix} {i}: blood pressure and stroke risk"},
            ],
            schema_name=QUESTION,
            params={"temperature": 0.0, "max_tokens": 64},
        )
        for i in range(count)
    ]


@pytest.fixture
def cache(tmp_path: Path) -> RequestCache:
    return RequestCache(tmp_path / "cache.sqlite")


def test_chat_requests_go_as_one_batch_and_are_cached(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        results = LLMService(batch_spec(server), cache).run(requests(5))
        assert server.batch_api.created == 1
        [batch] = server.batch_api.batches.values()
        assert batch["endpoint"] == "/v1/chat/completions"
        assert batch["request_counts"] == {"total": 5, "completed": 5, "failed": 0}
        assert all(r.ok and not r.from_cache and r.attempts == 1 for r in results)
        assert [r.id for r in results] == [f"r{i}" for i in range(5)]
        # A rerun, batch or not, replays the answers from the cache without paying.
        again = LLMService(batch_spec(server), cache).run(requests(5))
        plain = ModelSpec(id="gen", provider="openai", model="test-model", base_url=server.base_url)
        sync = LLMService(plain, cache).run(requests(5))
        assert server.batch_api.created == 1 and server.total_requests == 5
    assert [r.value for r in again] == [r.value for r in results] == [r.value for r in sync]
    assert all(r.from_cache for r in again + sync)


def test_same_answers_as_the_synchronous_path(tmp_path: Path) -> None:
    asked = requests(3, prefix="β-blockers – über ≥ 5 µg 中文")  # UTF-8 through the upload
    with OpenAITestServer() as server:
        batched = LLMService(batch_spec(server), RequestCache(tmp_path / "a.sqlite")).run(asked)
        plain = ModelSpec(id="gen", provider="openai", model="test-model", base_url=server.base_url)
        synced = LLMService(plain, RequestCache(tmp_path / "b.sqlite")).run(asked)
    assert [(r.value, r.cache_key) for r in batched] == [(r.value, r.cache_key) for r in synced]
    assert batched[0].value is not None and "über ≥ 5 µg 中文" in batched[0].value["question"]


def test_completion_text_and_rating_requests_use_the_completions_endpoint(
    cache: RequestCache,
) -> None:
    def responder(request: dict[str, object]) -> str | dict[str, object]:
        if request.get("logprobs"):
            return {"content": " Yes", "top_logprobs": {" Yes": -0.2, " No": -1.8, " The": -5.0}}
        return "Does aspirin lower stroke risk?\nTitle: leaked"

    text = LLMRequest(id="q", prompt="Title: Aspirin\nQuestion:", params={"stop": ["\n"]})
    rating = LLMRequest(
        id="r", prompt="Is it answerable?", params={"max_tokens": 1}, rating_values={"Yes": 5}
    )
    with OpenAITestServer(responder=responder) as server:
        answer, rated = LLMService(batch_spec(server), cache).run([text, rating])
        [batch] = server.batch_api.batches.values()
    assert batch["endpoint"] == "/v1/completions"
    assert answer.text == "Does aspirin lower stroke risk?"
    assert rated.value is not None and rated.value["rating"] == pytest.approx(5.0)


def test_invalid_replies_are_re_asked_in_a_further_batch(cache: RequestCache) -> None:
    with OpenAITestServer(faults=["invalid_json"]) as server:
        results = LLMService(batch_spec(server), cache).run(requests(3))
        assert server.batch_api.created == 2  # the first asks, then the one re-ask
    assert all(r.ok for r in results)
    assert sorted(r.asks for r in results) == [1, 1, 2]


def test_a_truncated_reply_is_recognised(cache: RequestCache) -> None:
    def long_json(_request: dict[str, object]) -> str:
        return json.dumps({"question": "What does it show?" * 20})

    with OpenAITestServer(responder=long_json) as server:
        [cut] = LLMService(batch_spec(server), cache, max_reasks=0, stage="questions").run(
            [
                LLMRequest(
                    id="j",
                    messages=[{"role": "user", "content": "Q?"}],
                    schema_name=QUESTION,
                    params={"max_tokens": 5},
                )
            ]
        )
    assert cut.value is None and cut.truncated
    assert cut.error is not None and "max_tokens (5)" in cut.error


def test_line_errors_fail_one_request_or_are_sent_again(cache: RequestCache) -> None:
    sent: dict[str, int] = {}

    def picker(_index: int, request: dict[str, Any]) -> str | None:
        text = request["messages"][-1]["content"]
        sent[text] = sent.get(text, 0) + 1
        if text.startswith("abstract 1:"):
            return "context_length"  # a 400 for this request only
        if text.startswith("abstract 2:") and sent[text] == 1:
            return "503"  # transient: sent again in the next batch
        return None

    with OpenAITestServer(fault_picker=picker) as server:
        results = LLMService(batch_spec(server), cache).run(requests(4))
        assert server.batch_api.created == 2
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].error is not None
    assert results[1].error.startswith("HTTP 400: This model's maximum context length")
    assert results[2].attempts == 2


def test_a_refused_key_stops_before_anything_is_submitted(cache: RequestCache) -> None:
    with OpenAITestServer(api_key="sk-right") as server:
        spec = ModelSpec.from_config(
            "gen",
            {
                "provider": "openai",
                "model": "test-model",
                "base_url": server.base_url,
                "api_key_env": "BATCH_TEST_KEY",
                "batch": FAST_BATCH,
            },
        )
        service = LLMService(spec, cache, env={"BATCH_TEST_KEY": "sk-wrong"})
        with pytest.raises(LLMAuthError, match="BATCH_TEST_KEY") as err:
            service.run(requests(2))
    assert "sk-wrong" not in str(err.value)
    assert server.batch_api.created == 0 and not server.batch_api.files


def test_a_failed_batch_is_a_clear_error(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        server.batch_api.fate = "fail"
        with pytest.raises(
            LLMError, match=r"refused batch batch_\w+ \(Enqueued token limit"
        ) as err:
            LLMService(batch_spec(server), cache).run(requests(2))
    assert "models.gen.batch.enabled" in str(err.value)
    assert server.total_requests == 0


def test_an_expired_batch_keeps_its_answers_and_a_rerun_sends_the_rest(
    cache: RequestCache,
) -> None:
    first, second = Accountant(), Accountant()
    with OpenAITestServer() as server:
        server.batch_api.fate = "expire"
        with pytest.raises(LLMUnavailableError, match="ended expired") as err:
            LLMService(batch_spec(server), cache, accountant=first).run(requests(4))
        assert "next run submits the rest" in str(err.value)
        assert server.answered == 2
        server.batch_api.fate = "complete"
        results = LLMService(batch_spec(server), cache, accountant=second).run(requests(4))
        assert server.batch_api.created == 2 and server.answered == 4
    assert all(r.ok for r in results)
    assert sum(r.from_cache for r in results) == 2
    # Each answer is paid (and counted) once: two by the expired batch, two by the rerun's.
    assert first.to_dict()["totals"]["requests"] == 2
    assert second.to_dict()["totals"]["requests"] == 2
    assert second.to_dict()["totals"]["cached_requests"] == 2


def test_a_timed_out_wait_leaves_the_batch_for_the_next_run(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        server.batch_api.fate = "stall"
        with pytest.raises(LLMUnavailableError, match="still in_progress after 0.3 s") as err:
            LLMService(batch_spec(server, timeout_s=0.3), cache).run(requests(3))
        assert "models.gen.batch.timeout_s" in str(err.value)
        server.batch_api.fate = "complete"
        results = LLMService(batch_spec(server), cache).run(requests(3))
        assert server.batch_api.created == 1  # polled again, not submitted again
        assert server.total_requests == 3
    assert all(r.ok and not r.from_cache for r in results)


WORKER = """
import sys
from meshdistill.llm import LLMService, ModelSpec, RequestCache
from tests.llm.test_llm_batch import requests
spec = ModelSpec.from_config("gen", {"provider": "openai", "model": "test-model",
    "base_url": sys.argv[1], "batch": {"enabled": True, "poll_s": 0.02}})
LLMService(spec, RequestCache(sys.argv[2])).run(requests(4))
"""


def test_a_killed_run_resumes_polling_its_batch(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(repo)])}
    with OpenAITestServer() as server:
        server.batch_api.fate = "stall"
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, server.base_url, str(cache_path)],
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while server.batch_api.created == 0 and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker ended before submitting"
            time.sleep(0.02)
        time.sleep(0.2)  # it records the batch, then polls
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        server.batch_api.fate = "complete"
        cache = RequestCache(cache_path)
        results = LLMService(batch_spec(server), cache).run(requests(4))
        assert server.batch_api.created == 1
        assert server.total_requests == 4 and max(server.per_hash.values()) == 1
    assert all(r.ok for r in results)
    assert all(cache.get(r.cache_key) is not None for r in results)


def _upload_as_a_killed_run_did(
    server: OpenAITestServer, cache: RequestCache, create: bool
) -> None:
    """What a run killed right after uploading its input file (and maybe creating the batch,
    but not recording it) leaves behind."""
    spec = batch_spec(server)
    service = LLMService(spec, cache)
    client = _client(server)
    backend = OpenAIBackend(spec, "not-needed", logging.getLogger("test"))
    lines = []
    for request in requests(3):
        call = Call(
            messages=request.messages,
            prompt=None,
            params=request.params,
            schema_name=QUESTION,
            schema=provider_schema(QUESTION),
        )
        _, body = backend.request_body(call)
        line = {"custom_id": service.key_for(request), "method": "POST", "body": body}
        lines.append(json.dumps({**line, "url": "/v1/chat/completions"}))
    uploaded = client.files.create(file=("in.jsonl", "\n".join(lines).encode()), purpose="batch")
    keys = [json.loads(line)["custom_id"] for line in lines]
    cache.record_batch(
        f"upload:{uploaded.id}", "gen", "/v1/chat/completions", uploaded.id, keys, status="uploaded"
    )
    if create:
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )


@pytest.mark.parametrize("created", [False, True])
def test_a_run_killed_between_upload_and_record_pays_once(
    cache: RequestCache, created: bool
) -> None:
    with OpenAITestServer() as server:
        _upload_as_a_killed_run_did(server, cache, create=created)
        results = LLMService(batch_spec(server), cache).run(requests(3))
        assert server.batch_api.created == 1  # the killed run's batch, or one made from its file
        inputs = [f for f in server.batch_api.files.values() if f["purpose"] == "batch"]
        assert len(inputs) == 1  # nothing uploaded again
        assert server.total_requests == 3
    assert all(r.ok for r in results)


def test_spend_is_recorded_at_the_batch_price(tmp_path: Path) -> None:
    with OpenAITestServer() as server:
        batched = Accountant()
        LLMService(
            batch_spec(server, price_factor=0.5),
            RequestCache(tmp_path / "a.sqlite"),
            accountant=batched,
            stage="questions",
        ).run(requests(3))
        synced = Accountant()
        plain = batch_spec(server, enabled=False)
        LLMService(
            plain, RequestCache(tmp_path / "b.sqlite"), accountant=synced, stage="questions"
        ).run(requests(3))
    report, full = batched.to_dict(), synced.to_dict()
    assert report["totals"]["prompt_tokens"] == full["totals"]["prompt_tokens"] > 0
    assert report["totals"]["cost_usd"] == pytest.approx(full["totals"]["cost_usd"] / 2)
    assert report["by_model"]["gen"]["price_input_per_mtok"] == 1.0
    assert math.isclose(batched.spent_usd, synced.spent_usd / 2)


def test_batches_are_split_at_max_requests(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        results = LLMService(batch_spec(server, max_requests=2), cache).run(requests(5))
        sizes = sorted(b["request_counts"]["total"] for b in server.batch_api.batches.values())
    assert sizes == [1, 2, 2] and all(r.ok for r in results)


def test_batches_are_split_below_the_file_size_limit(
    cache: RequestCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each line is about 0.9 kB: a 2 kB limit takes two per file.
    monkeypatch.setattr(batch_module, "MAX_INPUT_BYTES", 2000)
    with OpenAITestServer() as server:
        results = LLMService(batch_spec(server), cache).run(requests(5))
        files = [f for f in server.batch_api.files.values() if f["purpose"] == "batch"]
        sizes = sorted(b["request_counts"]["total"] for b in server.batch_api.batches.values())
    assert sizes == [1, 2, 2] and all(r.ok for r in results)
    assert all(f["bytes"] <= 2000 for f in files)


# --- configuration -----------------------------------------------------------------------


def test_batch_settings_are_checked() -> None:
    assert BatchSettings() == BatchSettings(enabled=False)
    with pytest.raises(ConfigError, match=r"models\.local\.batch\.enabled.*llama"):
        check_batch_settings("local", {"provider": "llama_cpp", "batch": {"enabled": True}})
    with pytest.raises(ConfigError, match=r"models\.m\.batch\.poll_seconds.*unknown key"):
        check_batch_settings("m", {"provider": "openai", "batch": {"poll_seconds": 3}})
    with pytest.raises(ConfigError, match=r"models\.m\.batch\.max_requests.*positive"):
        check_batch_settings("m", {"provider": "openai", "batch": {"max_requests": 0}})
    with pytest.raises(ConfigError, match=r"models\.m\.batch\.enabled.*expected bool"):
        check_batch_settings("m", {"provider": "openai", "batch": {"enabled": "yes"}})
    # Off on the in-process model is fine (the default).
    assert not check_batch_settings("local", {"provider": "llama_cpp", "batch": {}}).enabled


# --- the test server is as strict as the real API ---------------------------------------


def _client(server: OpenAITestServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)


def _line(custom_id: str, url: str = "/v1/chat/completions", **body: Any) -> str:
    body = {"model": "test-model", "messages": [{"role": "user", "content": "Hi"}], **body}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def _wait(client: openai.OpenAI, batch_id: str) -> Any:
    for _ in range(500):
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.01)
    raise AssertionError("batch did not finish")


def test_server_rejects_what_the_real_api_rejects() -> None:
    with OpenAITestServer(api_key="sk-right") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        data = (_line("a") + "\n").encode()
        tuned = client.files.create(file=("in.jsonl", data), purpose="fine-tune")
        with pytest.raises(openai.BadRequestError, match="purpose 'fine-tune'"):
            client.batches.create(
                input_file_id=tuned.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        good = client.files.create(file=("in.jsonl", data), purpose="batch")
        with pytest.raises(openai.BadRequestError, match="endpoint"):
            client.batches.create(
                input_file_id=good.id, endpoint="/v1/embeddings", completion_window="24h"
            )
        with pytest.raises(openai.BadRequestError, match="Must be .jsonl"):
            client.files.create(file=("in.txt", data), purpose="batch")
        with pytest.raises(openai.NotFoundError):
            client.batches.create(
                input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
            )
        with pytest.raises(openai.AuthenticationError):
            _client(server).batches.retrieve("batch_000001")
        assert server.batch_api.created == 0


@pytest.mark.parametrize(
    ("lines", "code", "line"),
    [
        ([_line("a"), "{not json"], "invalid_json_line", 2),
        ([_line("a"), _line("a")], "duplicate_custom_id", 2),
        ([_line("a", url="/v1/completions")], "mismatched_url", 1),
    ],
)
def test_server_fails_a_batch_with_bad_lines(lines: list[str], code: str, line: int) -> None:
    with OpenAITestServer() as server:
        client = _client(server)
        uploaded = client.files.create(
            file=("in.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch"
        )
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = _wait(client, batch.id)
    assert done.status == "failed" and done.output_file_id is None
    assert done.errors is not None and done.errors.data is not None
    assert (done.errors.data[0].code, done.errors.data[0].line) == (code, line)
    assert server.total_requests == 0


def test_server_answers_lines_as_its_sync_endpoint_would() -> None:
    with OpenAITestServer() as server:
        client = _client(server)
        data = (_line("ok") + "\n" + _line("bad", max_tokens=0) + "\n").encode()
        uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = _wait(client, batch.id)
        assert done.status == "completed" and done.request_counts is not None
        assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
        assert done.output_file_id is not None and done.error_file_id is not None
        [ok] = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
        [bad] = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
        direct = client.chat.completions.create(
            model="test-model", messages=[{"role": "user", "content": "Hi"}]
        )
    assert ok["custom_id"] == "ok" and ok["response"]["status_code"] == 200
    assert ok["response"]["body"]["choices"][0]["message"]["content"] == (
        direct.choices[0].message.content
    )
    assert bad["custom_id"] == "bad" and bad["response"]["status_code"] == 400
    assert "max_tokens" in bad["response"]["body"]["error"]["message"]


def test_dataset_statistics_price_a_batch_model_at_its_batch_price() -> None:
    from meshdistill.stages.merged import prices

    listed = {"provider": "openai", "price_input_per_mtok": 2.0, "price_output_per_mtok": 8.0}
    billed = prices(
        {
            "sync": listed,
            "batched": {**listed, "batch": {"enabled": True, "price_factor": 0.25}},
            "off": {**listed, "batch": {"enabled": False}},
        }
    )
    assert billed["batched"] == {"input_per_mtok": 0.5, "output_per_mtok": 2.0}
    assert billed["sync"] == billed["off"] == {"input_per_mtok": 2.0, "output_per_mtok": 8.0}


def test_check_models_probes_a_batch_model_with_single_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from meshdistill.model_check import check_models
    from tests.llm.test_model_check import KEY, KEY_ENV, REPO, probe_config, responder

    monkeypatch.chdir(REPO)  # prompt files are named relative to the workflow's root
    with OpenAITestServer(responder=responder, api_key=KEY) as server:
        config = probe_config(server.base_url, "json_schema", batch={"enabled": True})
        reports = check_models(config, env={KEY_ENV: KEY})
    assert all(report.ok for report in reports)
    assert server.total_requests > 0 and server.batch_api.created == 0


def test_server_cancels_a_batch() -> None:
    with OpenAITestServer() as server:
        server.batch_api.fate = "stall"
        client = _client(server)
        data = "".join(_line(f"c{i}") + "\n" for i in range(3)).encode()
        uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert client.batches.cancel(batch.id).status in ("cancelling", "cancelled")
        done = _wait(client, batch.id)
        assert done.status == "cancelled" and done.error_file_id is not None
        text = client.files.content(done.error_file_id).text
    codes = {json.loads(line)["error"]["code"] for line in text.splitlines()}
    assert codes == {"batch_cancelled"} and server.total_requests == 0
