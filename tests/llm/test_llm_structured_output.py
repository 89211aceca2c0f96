"""Structured output by server capability, and refusals reported in the server's own words.

Each test server flavour accepts exactly the structured-output fields the real server accepts,
ignores what it ignores and refuses the rest as it does, so these tests see what users see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshdistill.errors import ConfigError
from meshdistill.llm import LLMRequest, LLMService, ModelSpec
from meshdistill.llm.errors import LLMRequestRejectedError, LLMUnavailableError
from meshdistill.llm.rejections import is_malformed, server_reason
from meshdistill.llm.structured import strict_compatible
from meshdistill.schemas import load_schema
from meshdistill.testing.openai_server import OpenAITestServer

JUDGE = "llm_judge.schema.json"


def spec_for(server: OpenAITestServer, mode: str, **overrides: Any) -> ModelSpec:
    settings: dict[str, Any] = {
        "id": "m",
        "provider": "openai",
        "model": "test-model",
        "base_url": server.base_url,
        "structured_output": mode,
        "max_retries": 3,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.02,
    }
    settings.update(overrides)
    return ModelSpec(**settings)


def judge_request(request_id: str = "j") -> LLMRequest:
    return LLMRequest(
        id=request_id,
        messages=[
            {"role": "system", "content": "You grade questions. Reply with JSON only."},
            {"role": "user", "content": "Abstract: aspirin and stroke.\n\nQuestion: Does it?"},
        ],
        schema_name=JUDGE,
        params={"max_tokens": 40},
    )


def test_structured_output_setting_and_its_deprecated_alias() -> None:
    base = {"provider": "openai", "model": "x"}
    assert ModelSpec.from_config("a", base).structured_output == "json_schema"
    old_on = ModelSpec.from_config("a", {**base, "json_schema_response_format": True})
    old_off = ModelSpec.from_config("a", {**base, "json_schema_response_format": False})
    assert (old_on.structured_output, old_off.structured_output) == ("json_schema", "json_object")
    with pytest.raises(ConfigError, match="models.a.json_schema_response_format"):
        ModelSpec.from_config(
            "a", {**base, "json_schema_response_format": True, "structured_output": "none"}
        )
    with pytest.raises(ConfigError, match="models.a.structured_output.*json_object_schema"):
        ModelSpec.from_config("a", {**base, "structured_output": "json"})


@pytest.mark.parametrize(
    ("mode", "flavour"),
    [
        ("json_schema", "openai"),
        ("json_schema", "vllm"),
        ("json_schema", "llama_cpp_server"),
        ("json_object_schema", "llama_cpp_python"),
        ("json_object_schema", "llama_cpp_server"),
        ("json_object", "openai"),
        ("grammar", "llama_cpp_server"),
        ("none", "openai"),
        ("none", "llama_cpp_python"),
    ],
)
def test_each_mode_sends_its_own_body_and_gets_a_valid_reply(mode: str, flavour: str) -> None:
    with OpenAITestServer(flavour=flavour) as server:
        [result] = LLMService(spec_for(server, mode), None).run([judge_request()])
        body = server.bodies[0]
    assert result.ok, result.error
    assert result.asks == 1
    schema = {k: v for k, v in load_schema(JUDGE).items() if k not in ("$schema", "$id")}
    stated = "matches this JSON Schema" in body["messages"][-1]["content"]
    assert stated == (mode in ("json_object", "none"))
    if mode == "json_schema":
        sent = body["response_format"]
        assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == schema
        assert sent["json_schema"]["strict"] is True and sent["json_schema"]["name"] == "llm_judge"
    elif mode == "json_object_schema":
        assert body["response_format"] == {"type": "json_object", "schema": schema}
    elif mode == "json_object":
        assert body["response_format"] == {"type": "json_object"}
    elif mode == "grammar":
        assert body["json_schema"] == schema and "response_format" not in body
    else:
        assert "response_format" not in body and "json_schema" not in body


def test_json_schema_refused_by_llama_cpp_python_fails_once_with_the_servers_words() -> None:
    with OpenAITestServer(flavour="llama_cpp_python") as server:
        service = LLMService(spec_for(server, "json_schema", max_concurrency=1), None)
        with pytest.raises(LLMRequestRejectedError) as caught:
            service.run([judge_request("a"), judge_request("b")])
        refused, answered = server.refused, server.total_requests
    message = str(caught.value)
    assert "HTTP 500" in message
    assert "Input should be 'text' or 'json_object'" in message
    assert "models.m.structured_output (now json_schema)" in message
    assert "not retried" in message and 'File "' not in message
    assert (refused, answered) == (1, 0)  # not retried, and the run stopped at once


def test_schema_in_a_field_the_server_ignores_is_caught_by_validation_and_reasked() -> None:
    # OpenAI's JSON mode ignores a schema beside type json_object; the reply then misses the
    # judge's keys, and the re-ask, which states the schema, fixes it.
    with OpenAITestServer(flavour="openai") as server:
        [result] = LLMService(spec_for(server, "json_object_schema"), None).run([judge_request()])
    assert result.ok and result.asks == 2


def test_grammar_field_unknown_to_openai_is_a_clear_error() -> None:
    with OpenAITestServer(flavour="openai") as server:
        with pytest.raises(LLMRequestRejectedError, match="HTTP 400: Unrecognized request") as e:
            LLMService(spec_for(server, "grammar"), None).run([judge_request()])
        assert server.refused == 1
    assert "models.m.structured_output" in str(e.value)


def test_strict_schema_openai_cannot_take_is_sent_without_strict() -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert not strict_compatible(loose)
    assert strict_compatible(load_schema(JUDGE))


def test_transient_server_errors_are_retried_and_quoted() -> None:
    with OpenAITestServer(faults=["503", "503", "503", "503"]) as server:
        with pytest.raises(
            LLMUnavailableError, match=r"gave up after 4 attempts \(last: HTTP 503: injected 503\)"
        ):
            LLMService(spec_for(server, "json_schema"), None).run([judge_request()])
        assert server.total_requests == 4


def test_a_full_context_is_told_apart_from_max_tokens() -> None:
    prompt_tokens = 30  # the judge request's messages, at 4 characters a token
    with OpenAITestServer(context_tokens=prompt_tokens + 5) as server:
        [result] = LLMService(spec_for(server, "json_schema"), None, stage="judge").run(
            [judge_request()]
        )
    assert result.error is not None and "context window is full" in result.error
    assert "of max_tokens (40)" in result.error and "judge role" in result.error


def test_server_reason_is_trimmed_and_never_echoes_the_key() -> None:
    body = {"message": 'bad key sk-secret-1234 given\n\n  File "app.py", line 3\n  boom'}
    assert server_reason(body, "", "sk-secret-1234") == "bad key *** given"
    fastapi = {"detail": [{"loc": ["body", "response_format"], "msg": "Input should be"}]}
    assert "response_format" in server_reason(fastapi, "", None)
    assert len(server_reason({"message": "x" * 5000}, "", None)) <= 400
    assert server_reason(None, "plain text body", None) == "plain text body"


@pytest.mark.parametrize(
    ("status", "reason", "malformed"),
    [
        (400, "response_format type 'json_schema' is not supported", True),
        (422, json.dumps([{"msg": "field required"}]), True),
        (400, "This model's maximum context length is 2048 tokens", False),
        (500, "1 validation error: Input should be 'text' or 'json_object'", True),
        (500, "CUDA out of memory", False),
        (503, "server overloaded", False),
    ],
)
def test_which_refusals_are_the_requests_fault(status: int, reason: str, malformed: bool) -> None:
    assert is_malformed(status, reason) is malformed
