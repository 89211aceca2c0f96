"""End to end with the embedded default: the real Gemma 3 270M GGUF in-process via llama.cpp."""

from __future__ import annotations

import importlib.util

import pytest

from meshdistill.schemas import validate
from tests.workflow.harness import Workflow

pytestmark = [
    pytest.mark.slow,
    pytest.mark.workflow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (bootstrap.py installs it)",
    ),
]


def test_default_config_with_the_real_local_model(workflow: Workflow) -> None:
    # The shipped config, narrowed to one descriptor and two abstracts to keep CI fast.
    workflow.write_config({"descriptors": {"uis": ["D003924"]}, "abstracts": {"max_abstracts": 2}})
    workflow.snakemake(timeout=900)

    questions = workflow.jsonl("results/questions/D003924.jsonl")
    assert len(questions) == 4
    assert all(q["generation"]["model"] == "gemma-270m" for q in questions)
    assert any(q["question"] for q in questions), "the local model wrote no usable question"
    scored = workflow.jsonl("results/scored/D003924.jsonl")
    for record in scored:
        validate(record, "scored_record.schema.json", "scored record")
    for name in ("sft.jsonl", "preference.jsonl", "dataset.parquet", "card.md", "stats.json"):
        assert workflow.path(f"results/dataset/{name}").exists()
    assert workflow.server.total_requests == 0, "the default run must not call any endpoint"

    # Second run: nothing to do.
    assert "Nothing to be done" in workflow.snakemake("-n").stdout
