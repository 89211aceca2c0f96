"""`meshdistill check-models` against test servers that behave like the real ones."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill.cli import main
from meshdistill.model_check import ModelReport, check_models, configured_roles, format_reports
from meshdistill.settings import deep_merge
from meshdistill.testing.openai_server import OpenAITestServer, schema_responder
from tests.workflow.harness import sample_responder

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "PROBE_TEST_KEY"
KEY = "sk-probe-0123456789"


def responder(request: dict[str, Any]) -> str | dict[str, Any]:
    """A model that follows whatever schema reaches it, and otherwise answers the prompt."""
    response_format = request.get("response_format") or {}
    user = next(
        (m["content"] for m in reversed(request.get("messages") or []) if m["role"] == "user"),
        "",
    )
    if (
        "json_schema" in response_format
        or "schema" in response_format
        or "json_schema" in request
        or "matches this JSON Schema" in user
    ):
        return schema_responder(request)
    return sample_responder(request)


def probe_config(base_url: str, structured_output: str, **model: Any) -> dict[str, Any]:
    endpoint = {
        "provider": "openai",
        "base_url": base_url,
        "model": "test-model",
        "api_key_env": KEY_ENV,
        "timeout_s": 10,
        **model,
    }
    overlay = {
        "models": {
            "m-chat": {**endpoint, "prompt_mode": "chat", "structured_output": structured_output},
            "m-text": {**endpoint, "prompt_mode": "completion"},
        },
        "generators": [
            {"id": "general", "model": "m-text", "prompt": "prompts/question_general.v2.yaml"},
            {"id": "bio", "model": "m-text", "prompt": "prompts/question_biomedical.v2.yaml"},
        ],
        "judge": {"model": "m-chat", "prompt": "prompts/judge.v2.yaml"},
        "answerer": {"method": "write", "model": "m-chat", "prompt": "prompts/answer.v2.yaml"},
    }
    base = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return deep_merge(base, overlay)


def statuses(report: ModelReport) -> dict[str, str]:
    return {f.check: f.status for f in report.findings}


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # prompt files are named relative to the workflow's root


def test_every_mode_reported_as_llama_cpp_python_server_takes_it() -> None:
    with OpenAITestServer(responder=responder, flavour="llama_cpp_python", api_key=KEY) as srv:
        config = probe_config(srv.base_url, "json_schema")
        reports = check_models(config, env={KEY_ENV: KEY}, all_modes=True)
    chat, text = reports
    found = statuses(chat)
    assert found["reachable"] == found["api key"] == found["model name"] == "ok"
    assert found["role judge"] == "fail" and found["role answerer"] == "ok"
    judge = next(f for f in chat.findings if f.check == "role judge")
    assert "HTTP 500" in judge.detail and "Input should be 'text' or 'json_object'" in judge.detail
    assert "models.m-chat.structured_output" in judge.fix
    assert found["structured_output json_schema"] == "fail"
    assert found["structured_output json_object_schema"] == "ok"
    assert found["structured_output json_object"] == "ok"  # the schema is in the prompt
    assert found["structured_output grammar"] == "warn"  # field ignored: reply not JSON
    assert found["structured_output none"] == "ok"
    summary = chat.findings[-1]
    assert summary.fix == "set models.m-chat.structured_output: json_object_schema"
    assert not chat.ok
    # The completion-mode roles: plain text questions, all fine.
    assert text.ok and statuses(text)["role generator:general"] == "ok"
    assert "fix: set models.m-chat.structured_output: json_object_schema" in format_reports(reports)


def test_the_servers_mode_passes_and_a_completion_judge_rates_by_logprobs() -> None:
    with OpenAITestServer(responder=responder, flavour="llama_cpp_python", api_key=KEY) as srv:
        config = probe_config(srv.base_url, "json_object_schema")
        [chat, _text] = check_models(config, env={KEY_ENV: KEY})
        config["judge"]["model"] = "m-text"
        [_chat, text] = check_models(config, env={KEY_ENV: KEY})
    assert chat.ok, format_reports([chat])
    judge = next(f for f in text.findings if f.check == "role judge")
    assert judge.status == "ok" and judge.detail.startswith("completion/rating")
    assert '"rating"' in judge.detail and judge.latency_s is not None


@pytest.mark.parametrize(
    ("env", "check", "fix"),
    [
        ({KEY_ENV: "sk-wrong"}, "api key", f"put a key this server accepts in {KEY_ENV}"),
        ({}, "api key", f"export {KEY_ENV}=<your key>"),
    ],
)
def test_key_problems_name_the_variable(env: Mapping[str, str], check: str, fix: str) -> None:
    with OpenAITestServer(responder=responder, api_key=KEY) as server:
        reports = check_models(probe_config(server.base_url, "json_schema"), env=env)
        assert server.total_requests == 0
    finding = next(f for f in reports[0].findings if f.check == check)
    assert finding.status == "fail" and finding.fix.startswith(fix)
    assert "sk-wrong" not in format_reports(reports)


def test_unknown_model_name_is_a_warning_with_the_served_names() -> None:
    with OpenAITestServer(responder=responder, models=["served-model"], api_key=KEY) as server:
        reports = check_models(probe_config(server.base_url, "json_schema"), env={KEY_ENV: KEY})
    finding = next(f for f in reports[0].findings if f.check == "model name")
    assert finding.status == "warn" and "'served-model'" in finding.detail
    judge = next(f for f in reports[0].findings if f.check == "role judge")
    assert judge.status == "fail" and "models.m-chat.model" in judge.fix


def test_command_exits_1_and_names_base_url_when_nothing_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = probe_config(f"http://127.0.0.1:{port}/v1", "json_schema")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        yaml.safe_dump({k: config[k] for k in ("models", "generators", "judge", "answerer")})
    )
    monkeypatch.setenv(KEY_ENV, KEY)
    assert main(["check-models", "--configfile", str(overlay)]) == 1
    out = capsys.readouterr().out
    assert "fail  reachable" in out and "models.m-chat.base_url" in out


def test_an_answerer_that_extracts_is_not_probed() -> None:
    config = probe_config("http://127.0.0.1:9/v1", "json_schema")
    assert "answerer" in [role.name for role in configured_roles(config)]
    config["answerer"]["method"] = "extract"
    assert "answerer" not in [role.name for role in configured_roles(config)]
