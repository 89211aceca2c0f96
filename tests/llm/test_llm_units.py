"""Prompts, model specs, cache, retry schedule, accounting and estimates (no server)."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from meshdistill.errors import ConfigError, InputError
from meshdistill.llm import (
    Accountant,
    LLMRequest,
    ModelSpec,
    PromptTemplate,
    RequestCache,
    endpoint_resource_name,
    estimate_requests,
    job_share,
    request_key,
    validate_generation_params,
)
from meshdistill.llm.retry import backoff_delay, retry_after_seconds
from meshdistill.llm.structured import parse_reply, provider_schema
from meshdistill.schemas import schemas_dir
from meshdistill.testing.openai_server import value_for_schema

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


# --- prompts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(PROMPTS.glob("*.yaml")), ids=lambda p: p.name)
def test_repository_prompts_load_and_render_every_mode(path: Path) -> None:
    prompt = PromptTemplate.load(path)
    assert len(prompt.sha256) == 64 and prompt.version >= 1
    assert set(prompt.modes) == {"chat", "completion"}
    for mode in prompt.modes.values():
        if mode.reply == "json":
            assert mode.response_schema and (schemas_dir() / mode.response_schema).is_file()
        fields = dict.fromkeys(prompt.fields(mode.mode), "X")
        request = prompt.request("r", mode.mode, {}, fields, lambda _example: {"verdict": "Yes"})
        text = request.prompt if request.prompt is not None else str(request.messages)
        assert "{{" not in text and "{examples}" not in text
        if mode.mode == "completion" and prompt.examples:
            # Every worked example is shown to the base model.
            for example in prompt.examples:
                assert str(example.get("question", ""))[:40] in text


def test_legacy_layout_renders_chat_and_keeps_literal_braces(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nversion: 2\nresponse_schema: llm_question.schema.json\n"
        "system: 'JSON only: {{\"question\": \"...\"}}'\nuser: 'Title: {title}'\n"
    )
    prompt = PromptTemplate.load(path)
    request = prompt.request("r", "chat", {"seed": 1}, {"title": "Aspirin"})
    assert request.messages == [
        {"role": "system", "content": 'JSON only: {"question": "..."}'},
        {"role": "user", "content": "Title: Aspirin"},
    ]
    assert request.reply == "json" and request.schema_name == "llm_question.schema.json"
    assert prompt.provenance() == {
        "file": "p.yaml",
        "name": "p",
        "sha256": prompt.sha256,
        "version": 2,
    }
    with pytest.raises(InputError, match=r"p\.yaml.*title"):
        prompt.request("r", "chat", {}, {})
    with pytest.raises(InputError, match=r"no 'completion' block"):
        prompt.request("r", "completion", {}, {"title": "Aspirin"})


def test_completion_mode_renders_examples_stops_and_rating_tokens(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "q",
                "version": 1,
                "examples": [
                    {"title": "T1", "question": "Q1?"},
                    {"title": "T2", "question": "Q2?"},
                ],
                "completion": {
                    "reply": "text",
                    "stop": ["\n"],
                    "example": "Title: {title}\nQuestion: {question}",
                    "prompt": "{examples}\n\nTitle: {title}\nQuestion:",
                },
                "chat": {
                    "reply": "rating",
                    "ratings": {"Yes": 5, "No": 1},
                    "system": "Answer Yes or No.",
                    "user": "{title}",
                },
            }
        )
    )
    prompt = PromptTemplate.load(path)
    request = prompt.request("r", "completion", {"stop": "END", "seed": 3}, {"title": "Aspirin"})
    assert request.prompt == (
        "Title: T1\nQuestion: Q1?\n\nTitle: T2\nQuestion: Q2?\n\nTitle: Aspirin\nQuestion:"
    )
    assert request.mode == "completion" and request.reply == "text"
    assert request.params == {"stop": ["\n", "END"], "seed": 3}
    assert prompt.example_values("question") == ["Q1?", "Q2?"]
    rating = prompt.request("r", "chat", {"max_tokens": 40}, {"title": "Aspirin"})
    assert rating.reply == "rating" and rating.params["max_tokens"] == 1
    assert rating.rating_values == {"Yes": 5.0, "No": 1.0}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: p\nresponse_schema: s\nsystem: a\nuser: b\n", "version"),
        ("name: p\nversion: 1\nsystem: a\nuser: b\n", "response_schema"),
        ("name: p\nversion: 1\nresponse_schema: s\nsystem: a\nuser: '{0}'\n", "plain name"),
        ("- a list\n", "mapping"),
    ],
)
def test_bad_prompt_files_name_file_and_key(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as caught:
        PromptTemplate.load(path)
    assert caught.value.source == str(path)


def test_missing_prompt_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        PromptTemplate.load(tmp_path / "absent.yaml")


# --- model specs -----------------------------------------------------------------------------
def test_model_spec_from_config() -> None:
    spec = ModelSpec.from_config(
        "bio",
        {
            "provider": "openai",
            "model": "m",
            "base_url": "http://localhost:8000/v1",
            "api_key_env": "BIO_KEY",
            "max_concurrency": 16,
            "price_input_per_mtok": 1,
            "timeout_s": 30,
        },
    )
    assert spec.id == "bio" and spec.max_concurrency == 16
    assert spec.price_input_per_mtok == 1.0 and isinstance(spec.price_input_per_mtok, float)
    assert spec.cache_identity() == {
        "provider": "openai",
        "model": "m",
        "base_url": "http://localhost:8000/v1",
    }
    assert "BIO_KEY" not in json.dumps(spec.cache_identity())


@pytest.mark.parametrize(
    ("cfg", "setting"),
    [
        ({"provider": "openai"}, "models.x.model"),
        ({"provider": "cloud", "model": "m"}, "models.x.provider"),
        ({"provider": "openai", "model": "m", "max_concurrency": 0}, "models.x.max_concurrency"),
        ({"provider": "openai", "model": "m", "max_concurrency": "8"}, "models.x.max_concurrency"),
        ({"provider": "openai", "model": "m", "temperature": 0.2}, "models.x.temperature"),
        ({"provider": "openai", "model": "m", "api_key_env": "sk-123"}, "models.x.api_key_env"),
        ({"provider": "openai", "model": "m", "max_retries": True}, "models.x.max_retries"),
    ],
)
def test_model_spec_config_errors_name_the_setting(cfg: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ModelSpec.from_config("x", cfg)
    assert caught.value.setting == setting


def test_generation_params() -> None:
    assert validate_generation_params({"temperature": 0.7, "seed": 1}, "stages.q.params") == {
        "seed": 1,
        "temperature": 0.7,
    }
    with pytest.raises(ConfigError, match=r"stages\.q\.params\.tempreature"):
        validate_generation_params({"tempreature": 0.7}, "stages.q.params")
    with pytest.raises(ConfigError, match="max_tokens"):
        validate_generation_params({"max_tokens": 0}, "p")


def test_llama_cpp_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    spec = ModelSpec(id="local", provider="llama_cpp", model="x", model_path=str(tmp_path / "a"))
    with pytest.raises(ConfigError, match=r"models\.local\.model_path"):
        spec.cache_identity()


def test_llama_cpp_identity_uses_the_file_hash(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights-1")
    spec = ModelSpec(id="local", provider="llama_cpp", model="x", model_path=str(model))
    first = spec.cache_identity()["model_sha256"]
    model.write_bytes(b"weights-2 differ")
    assert spec.cache_identity()["model_sha256"] != first


def test_resource_names_group_by_endpoint() -> None:
    a = ModelSpec(id="a", provider="openai", model="m1", base_url="http://gpu-1:8000/v1")
    b = ModelSpec(id="b", provider="openai", model="m2", base_url="http://gpu-1:8000/v1")
    c = ModelSpec(id="c", provider="openai", model="m3")
    assert endpoint_resource_name(a) == endpoint_resource_name(b) == "llm_gpu_1_8000"
    assert endpoint_resource_name(c) == "llm_api_openai_com"
    assert job_share(a, 3) == 3 and job_share(a, 100) == a.max_concurrency
    assert job_share(a, None) == a.max_concurrency and job_share(a, 0) == 1


# --- cache -----------------------------------------------------------------------------------
def test_request_key_is_canonical_and_sensitive() -> None:
    identity = {"provider": "openai", "model": "m", "base_url": None}
    messages = [{"role": "user", "content": "hi"}]
    key = request_key(identity, messages, {"temperature": 0, "seed": 1}, {"type": "object"})
    assert key == request_key(
        dict(reversed(identity.items())),
        messages,
        {"seed": 1, "temperature": 0},
        {"type": "object"},
    )
    assert key != request_key(identity, messages, {"temperature": 0, "seed": 2}, {"type": "object"})
    assert key != request_key({**identity, "model": "n"}, messages, {}, None)
    assert len(key) == 64


def test_cache_roundtrip_and_failed_replies_are_separate(tmp_path: Path) -> None:
    with RequestCache(tmp_path / "c.sqlite") as cache:
        assert cache.get("k") is None
        cache.put("k", {"content": "{}", "prompt_tokens": 1})
        cache.put_failed("f", {"content": "nope"})
        assert cache.get("k") == {"content": "{}", "prompt_tokens": 1}
        assert cache.get("f") is None and cache.get_failed("f") == {"content": "nope"}
        assert len(cache) == 1
    with RequestCache(tmp_path / "c.sqlite") as reopened:
        assert reopened.contains("k")


def test_cache_is_safe_across_threads(tmp_path: Path) -> None:
    with RequestCache(tmp_path / "c.sqlite") as cache:

        def write(offset: int) -> None:
            for i in range(100):
                cache.put(f"{offset}-{i}", {"i": i})
                assert cache.get(f"{offset}-{i}") == {"i": i}

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(cache) == 400


# --- structured output -----------------------------------------------------------------------
def test_parse_reply() -> None:
    schema = "llm_judge.schema.json"
    assert parse_reply('{"relevance": 5, "answerability": 4, "specificity": 3}', schema)[0]
    fenced = '```json\n{"relevance": 5, "answerability": 4, "specificity": 3}\n```'
    assert parse_reply(fenced, schema)[0] is not None
    assert "not valid JSON" in str(parse_reply("{oops", schema)[1])
    assert "JSON object" in str(parse_reply("[1]", schema)[1])
    assert "empty" in str(parse_reply("  ", schema)[1])
    problem = parse_reply('{"relevance": 9, "answerability": 4, "specificity": 3}', schema)[1]
    assert problem is not None and "relevance" in problem
    assert "$schema" not in provider_schema(schema)


@pytest.mark.parametrize(
    "schema", ["llm_question.schema.json", "llm_judge.schema.json", "llm_answer.schema.json"]
)
def test_test_server_default_replies_satisfy_the_schemas(schema: str) -> None:
    value = value_for_schema(provider_schema(schema), "some abstract text")
    assert parse_reply(json.dumps(value), schema) == (value, None)


# --- retry -----------------------------------------------------------------------------------
def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 0.5, 4.0, rng) for n in range(10) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(delays[:20]) <= 0.5 and max(delays[-20:]) > 2.0
    assert len(set(delays)) > 150


def test_retry_after_parsing() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = {"Retry-After": "Wed, 01 Jan 2025 12:00:05 GMT"}
    assert retry_after_seconds(date, now) == 5.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


# --- accounting ------------------------------------------------------------------------------
def priced(model_id: str = "gen") -> ModelSpec:
    return ModelSpec(
        id=model_id,
        provider="openai",
        model="m",
        price_input_per_mtok=2.0,
        price_output_per_mtok=8.0,
    )


def test_accountant_report_is_deterministic_and_splits_cached() -> None:
    def ledger(order: list[int]) -> Accountant:
        acc = Accountant(budget_usd=10.0, spent_usd_before=0.5)
        rows = [
            ("question", "D1", priced(), 1000, 100, False),
            ("question", "D2", priced("bio"), 3000, 300, False),
            ("judge", "D1", priced(), 500, 10, True),
        ]
        for i in order:
            acc.record(*rows[i])
        return acc

    one = ledger([0, 1, 2]).to_dict()
    assert json.dumps(one, sort_keys=True) == json.dumps(
        ledger([2, 1, 0]).to_dict(), sort_keys=True
    )
    assert one["totals"]["requests"] == 2 and one["totals"]["cached_requests"] == 1
    expected = (4000 * 2.0 + 400 * 8.0) / 1e6
    assert one["totals"]["cost_usd"] == pytest.approx(expected)
    assert one["total_cost_usd"] == pytest.approx(0.5 + expected)
    assert one["by_stage"]["judge"]["cost_usd"] == 0.0
    assert [(e["stage"], e["descriptor"], e["model"]) for e in one["entries"]] == [
        ("judge", "D1", "gen"),
        ("question", "D1", "gen"),
        ("question", "D2", "bio"),
    ]
    rebuilt = Accountant.from_dict(one)
    assert rebuilt.to_dict() == one
    merged = Accountant()
    merged.merge(rebuilt)
    merged.merge(rebuilt)
    assert merged.to_dict()["totals"]["prompt_tokens"] == 2 * one["totals"]["prompt_tokens"]


def test_budget_reservations() -> None:
    acc = Accountant(budget_usd=1.0, spent_usd_before=0.25)
    assert acc.reserve(0.5)
    assert not acc.reserve(0.5)
    acc.release(0.5)
    assert acc.reserve(0.75)
    assert Accountant().reserve(1e9)


def test_estimate_requests_skips_cached(tmp_path: Path) -> None:
    spec = priced()
    requests = [
        LLMRequest(
            id=str(i),
            messages=[{"role": "user", "content": "x" * 399 + str(i)}],
            schema_name="llm_question.schema.json",
            params={"max_tokens": 100},
        )
        for i in range(3)
    ]
    estimate = estimate_requests(requests, spec)
    assert (estimate.calls, estimate.cached) == (3, 0)
    assert estimate.prompt_tokens == 3 * (100 + 4)
    assert estimate.completion_tokens == 300
    assert estimate.cost_usd == pytest.approx((312 * 2.0 + 300 * 8.0) / 1e6)
    with RequestCache(tmp_path / "c.sqlite") as cache:
        from meshdistill.llm.structured import provider_schema as schema_of

        key = request_key(
            spec.cache_identity(),
            requests[0].messages,
            requests[0].params,
            schema_of("llm_question.schema.json"),
        )
        cache.put(key, {"content": "{}"})
        cached = estimate_requests(requests, spec, cache)
    assert (cached.calls, cached.cached, cached.requests) == (2, 1, 3)
    assert cached.to_dict()["calls"] == 2
