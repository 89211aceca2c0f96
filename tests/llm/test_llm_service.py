"""LLMService against the local OpenAI-compatible server, through the real openai client."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from meshdistill.errors import ConfigError
from meshdistill.llm import (
    Accountant,
    BudgetExceededError,
    LLMAuthError,
    LLMModelNotFoundError,
    LLMRequest,
    LLMService,
    LLMUnavailableError,
    ModelSpec,
    RequestCache,
)
from meshdistill.testing.openai_server import OpenAITestServer

QUESTION = "llm_question.schema.json"
JUDGE = "llm_judge.schema.json"


def spec_for(server: OpenAITestServer, **overrides: object) -> ModelSpec:
    settings: dict[str, object] = {
        "id": "gen",
        "provider": "openai",
        "model": "test-model",
        "base_url": server.base_url,
        "max_concurrency": 4,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.05,
    }
    settings.update(overrides)
    return ModelSpec(**settings)  # type: ignore[arg-type]


def requests(count: int, schema: str = QUESTION, prefix: str = "abstract") -> list[LLMRequest]:
    return [
        LLMRequest(
            id=f"r{i}",
            messages=[
                {"role": "system", "content": "Reply with JSON only."},
                {"role": "user", "content": f"{prefix} {i}: blood pressure and stroke risk"},
            ],
            schema_name=schema,
            params={"temperature": 0.0, "max_tokens": 64},
        )
        for i in range(count)
    ]


@pytest.fixture
def cache(tmp_path: Path) -> RequestCache:
    store = RequestCache(tmp_path / "cache.sqlite")
    yield store
    store.close()


def test_answers_are_valid_in_order_and_concurrency_is_reached(cache: RequestCache) -> None:
    with OpenAITestServer(latency_s=0.15) as server:
        spec = spec_for(server, max_concurrency=8)
        started = time.monotonic()
        results = LLMService(spec, cache).run(requests(32))
        elapsed = time.monotonic() - started
    assert [r.id for r in results] == [f"r{i}" for i in range(32)]
    assert all(r.ok and not r.from_cache and r.attempts == 1 for r in results)
    assert results[3].value is not None and "abstract 3" in results[3].value["question"]
    assert server.max_in_flight == 8
    assert server.total_requests == 32
    # 4 waves of 0.15 s plus the openai package's first-use imports; serial takes 4.8 s.
    assert elapsed < 3.5


def test_judge_schema_integers_within_bounds(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        results = LLMService(spec_for(server), cache).run(requests(5, JUDGE))
    for result in results:
        assert result.value is not None
        assert set(result.value) == {"relevance", "answerability", "specificity"}
        assert all(1 <= v <= 5 for v in result.value.values())


def test_retry_on_429_honours_retry_after(cache: RequestCache) -> None:
    with OpenAITestServer(faults=["429", "429"], retry_after_s=0.3) as server:
        started = time.monotonic()
        [result] = LLMService(spec_for(server), cache).run(requests(1))
        elapsed = time.monotonic() - started
    assert result.ok
    assert result.attempts == 3
    assert server.total_requests == 3
    # Two waits of at least the server's Retry-After (backoff alone is capped at 0.05 s).
    assert elapsed >= 0.6


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_retry_on_server_errors_and_dropped_connections(cache: RequestCache, fault: str) -> None:
    with OpenAITestServer(faults=[fault]) as server:
        [result] = LLMService(spec_for(server), cache).run(requests(1))
    assert result.ok and result.attempts == 2
    assert server.total_requests == 2


def test_gives_up_after_max_retries(cache: RequestCache) -> None:
    with OpenAITestServer(faults=["500"] * 10) as server:
        with pytest.raises(LLMUnavailableError, match="gave up after 3 attempts"):
            LLMService(spec_for(server, max_retries=2), cache).run(requests(1))
    assert server.total_requests == 3


def test_wrong_key_fails_at_once_without_leaking_it(cache: RequestCache) -> None:
    secret = "sk-wrong-secret-123"
    with OpenAITestServer(api_key="sk-right") as server:
        spec = spec_for(server, api_key_env="TEST_LLM_KEY", max_concurrency=1)
        service = LLMService(spec, cache, env={"TEST_LLM_KEY": secret})
        with pytest.raises(LLMAuthError) as caught:
            service.run(requests(3))
    message = str(caught.value)
    assert "gen" in message and "TEST_LLM_KEY" in message and "401" in message
    assert secret not in message and secret not in repr(service)
    assert server.total_requests == 1


def test_right_key_is_sent(cache: RequestCache) -> None:
    with OpenAITestServer(api_key="sk-right") as server:
        spec = spec_for(server, api_key_env="TEST_LLM_KEY")
        results = LLMService(spec, cache, env={"TEST_LLM_KEY": "sk-right"}).run(requests(2))
    assert all(r.ok for r in results)


def test_missing_key_variable_is_a_config_error_before_any_request(cache: RequestCache) -> None:
    with OpenAITestServer(api_key="sk-right") as server:
        spec = spec_for(server, api_key_env="TEST_LLM_KEY")
        with pytest.raises(ConfigError, match="TEST_LLM_KEY") as caught:
            LLMService(spec, cache, env={})
    assert caught.value.setting == "models.gen.api_key_env"
    assert server.total_requests == 0


def test_unknown_model_stops_with_a_clear_error(cache: RequestCache) -> None:
    with OpenAITestServer(models=["other-model"]) as server:
        with pytest.raises(LLMModelNotFoundError, match="test-model"):
            LLMService(spec_for(server), cache).run(requests(2))


def test_invalid_json_is_re_asked_and_the_re_ask_is_cached(cache: RequestCache) -> None:
    with OpenAITestServer(faults=["invalid_json"]) as server:
        [first] = LLMService(spec_for(server), cache).run(requests(1))
        [again] = LLMService(spec_for(server), cache).run(requests(1))
    assert first.ok and first.asks == 2 and first.attempts == 2
    assert first.prompt_tokens > 0
    # Both asks were paid for, so a rerun replays the invalid first reply and its re-ask from
    # the cache: nothing is sent again, whatever the first run went through.
    assert again.ok and again.from_cache and again.asks == 2 and again.attempts == 0
    assert again.value == first.value
    assert server.total_requests == 2


def test_always_invalid_replies_are_recorded_as_failed_with_raw_kept(cache: RequestCache) -> None:
    def bad(_request: dict[str, object]) -> str:
        return json.dumps({"question": "too short"[:5]})

    with OpenAITestServer(responder=bad) as server:
        service = LLMService(spec_for(server), cache, max_reasks=2)
        [result] = service.run(requests(1))
        assert result.value is None
        assert result.error is not None and "3 asks" in result.error
        assert result.raw == '{"question": "too s"}'
        assert server.total_requests == 3
        # Every paid reply is kept, invalid ones too: a rerun pays for none of them again and
        # reaches the same verdict.
        assert cache.get(result.cache_key) is not None
        [again] = service.run(requests(1))
        assert server.total_requests == 3
        assert again.value is None and again.error == result.error


def test_prompt_too_long_fails_only_that_item(cache: RequestCache) -> None:
    def picker(_index: int, request: dict[str, object]) -> str | None:
        messages = request["messages"]
        assert isinstance(messages, list)
        return "context_length" if "abstract 1:" in messages[-1]["content"] else None

    with OpenAITestServer(fault_picker=picker) as server:
        results = LLMService(spec_for(server), cache).run(requests(3))
    assert results[0].ok and results[2].ok
    assert results[1].value is None and results[1].error is not None
    assert results[1].error.startswith("HTTP 400: This model's maximum context length")
    assert server.total_requests == 3  # a 400 is not retried


def test_cache_modes(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        spec = spec_for(server)
        LLMService(spec, cache).run(requests(3))
        assert server.total_requests == 3
        cached = LLMService(spec, cache).run(requests(3))
        assert all(r.from_cache and r.attempts == 0 for r in cached)
        assert server.total_requests == 3
        LLMService(spec, cache, cache_mode="bypass").run(requests(3, prefix="fresh"))
        assert server.total_requests == 6
        assert all(cache.contains(r.cache_key) for r in cached)
        refreshed = LLMService(spec, cache, cache_mode="refresh").run(requests(3))
        assert not any(r.from_cache for r in refreshed)
        assert server.total_requests == 9
        # bypass wrote nothing
        LLMService(spec, cache).run(requests(3, prefix="fresh"))
        assert server.total_requests == 12
    with pytest.raises(ConfigError, match="cache_mode"):
        LLMService(spec, cache, cache_mode="sometimes")


def test_same_inputs_same_outputs(tmp_path: Path) -> None:
    with OpenAITestServer(latency_s=0.01) as server:
        first = LLMService(spec_for(server), RequestCache(tmp_path / "a.sqlite")).run(requests(6))
        second = LLMService(spec_for(server), RequestCache(tmp_path / "b.sqlite")).run(requests(6))
    assert [(r.value, r.cache_key) for r in first] == [(r.value, r.cache_key) for r in second]


def test_accounting_separates_paid_and_cached(cache: RequestCache) -> None:
    with OpenAITestServer() as server:
        spec = spec_for(server, price_input_per_mtok=1000.0, price_output_per_mtok=2000.0)
        ledger = Accountant()
        LLMService(spec, cache, accountant=ledger, stage="question", descriptor="D1").run(
            requests(2)
        )
        LLMService(spec, cache, accountant=ledger, stage="question", descriptor="D1").run(
            requests(2)
        )
    report = ledger.to_dict()
    [entry] = report["entries"]
    assert entry["requests"] == 2 and entry["cached_requests"] == 2
    assert entry["prompt_tokens"] == entry["cached_prompt_tokens"] > 0
    expected = (entry["prompt_tokens"] * 1000 + entry["completion_tokens"] * 2000) / 1e6
    assert entry["cost_usd"] == pytest.approx(expected)
    assert report["totals"]["cost_usd"] == pytest.approx(expected)


def test_budget_cap_stops_cleanly_and_a_rerun_resumes(cache: RequestCache) -> None:
    with OpenAITestServer(latency_s=0.02) as server:
        # max_tokens 64 at 10000 USD/Mtok output is about 0.64 USD reserved per request.
        spec = spec_for(server, price_input_per_mtok=0.0, price_output_per_mtok=10000.0)
        ledger = Accountant(budget_usd=2.0)
        service = LLMService(spec, cache, accountant=ledger, stage="question")
        with pytest.raises(BudgetExceededError) as caught:
            service.run(requests(10))
        done = [r for r in caught.value.results if r.ok]
        skipped = [r for r in caught.value.results if r.error and "budget" in r.error]
        assert 1 <= len(done) <= 3
        assert len(done) + len(skipped) == 10
        assert ledger.spent_usd <= 2.0
        sent = server.total_requests
        assert sent == len(done)
        results = LLMService(spec, cache, accountant=Accountant()).run(requests(10))
    assert all(r.ok for r in results)
    assert sum(r.from_cache for r in results) == len(done)
    assert server.total_requests == 10


def test_completion_text_and_rating_requests_use_the_completions_route(
    cache: RequestCache,
) -> None:
    seen: list[dict[str, object]] = []

    def responder(request: dict[str, object]) -> str | dict[str, object]:
        seen.append(request)
        if request.get("logprobs"):
            return {"content": " Yes", "top_logprobs": {" Yes": -0.2, " No": -1.8, " The": -5.0}}
        return "Does aspirin lower stroke risk in atrial fibrillation?\nTitle: leaked"

    text = LLMRequest(
        id="q",
        prompt="Title: Aspirin and stroke\nQuestion:",
        params={"max_tokens": 40, "stop": ["\n"], "seed": 1},
    )
    rating = LLMRequest(
        id="r",
        prompt="Question: Does aspirin lower stroke risk?\nIs it answerable?",
        params={"max_tokens": 1},
        rating_values={"Yes": 5, "No": 1},
    )
    with OpenAITestServer(responder=responder) as server:
        first = LLMService(spec_for(server), cache).run([text, rating])
        again = LLMService(spec_for(server), cache).run([text, rating])
    by_prompt = {str(r["prompt"]): r for r in seen}  # sent concurrently: any order
    assert sorted(by_prompt) == sorted([str(text.prompt), str(rating.prompt)])
    assert all("messages" not in r for r in seen)
    assert by_prompt[str(rating.prompt)]["logprobs"] == 20
    answer, rated = first
    # The stop sequence ends the reply before the scaffolding the model went on to write.
    assert answer.text == "Does aspirin lower stroke risk in atrial fibrillation?"
    assert not answer.truncated
    p_yes = math.exp(-0.2) / (math.exp(-0.2) + math.exp(-1.8))
    assert rated.value is not None
    assert rated.value["rating"] == pytest.approx(1 + 4 * p_yes, abs=1e-6)
    assert [r.value for r in again] == [r.value for r in first]
    assert all(r.from_cache for r in again) and server.total_requests == 2


def test_a_reply_cut_by_max_tokens_is_reported_as_truncated(cache: RequestCache) -> None:
    def long_json(_request: dict[str, object]) -> str:
        return json.dumps({"relevance": 5, "answerability": 4, "specificity": 3}) * 3

    with OpenAITestServer(responder=long_json) as server:
        [cut] = LLMService(spec_for(server), cache, max_reasks=0, stage="judge").run(
            [
                LLMRequest(
                    id="j",
                    messages=[{"role": "user", "content": "Rate it."}],
                    schema_name=JUDGE,
                    params={"max_tokens": 5},
                )
            ]
        )
        [text] = LLMService(spec_for(server), cache).run(
            [LLMRequest(id="t", prompt="Answer:", params={"max_tokens": 5})]
        )
    assert cut.value is None and cut.truncated
    assert cut.error is not None and "max_tokens (5)" in cut.error and "judge" in cut.error
    assert "not valid JSON" not in cut.error
    assert text.truncated and text.text is not None and len(text.text) <= 20


def test_identical_requests_in_one_run_are_sent_once(cache: RequestCache) -> None:
    # Two generators writing the same question give two identical judge requests.
    same = requests(1, schema=JUDGE)[0]
    twins = [
        same,
        LLMRequest(id="twin", messages=same.messages, schema_name=JUDGE, params=dict(same.params)),
    ]
    with OpenAITestServer(latency_s=0.2) as server:
        results = LLMService(spec_for(server), cache).run(twins)
        assert server.total_requests == 1
    assert results[0].value == results[1].value and results[0].ok
    assert [r.from_cache for r in results].count(True) == 1
