"""Mistakes caught when the workflow is parsed: `snakemake -n` reports them, nothing runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow


def _dry_run_fails(workflow: Workflow, config: dict[str, Any]) -> str:
    workflow.write_config(config)
    result = workflow.snakemake("-n", check=False)
    assert result.returncode != 0, result.stdout
    assert not workflow.path("results").exists()
    assert workflow.server.total_requests == 0
    return result.stdout + result.stderr


def test_corpus_information_content_needs_a_local_corpus(workflow: Workflow) -> None:
    config = workflow.config()
    config["scoring"] = {"information_content": "corpus"}
    config["retrieval"] = {"method": "pubmed"}
    output = _dry_run_fails(workflow, config)
    assert "scoring.information_content" in output and "pubmed" in output


def test_empty_descriptor_selection(workflow: Workflow) -> None:
    config = workflow.config()
    config["descriptors"] = {"uis": [], "names": [], "subtrees": []}
    output = _dry_run_fails(workflow, config)
    assert "'descriptors'" in output and "selects no descriptor" in output


def test_mesh_cycle(workflow: Workflow) -> None:
    workflow.path("data/mesh/looped.tsv").write_text(
        "A01\tD000001\tFirst\nA02.100\tD000001\tFirst\n"
        "A02\tD000002\tSecond\nA01.100\tD000002\tSecond\n",
        encoding="utf-8",
    )
    config = workflow.config()
    config["mesh"] = {"source": "data/mesh/looped.tsv"}
    config["descriptors"] = {"uis": ["D000001"]}
    output = _dry_run_fails(workflow, config)
    assert "looped.tsv" in output and "cycle in category A" in output, output


def test_unknown_name_suggests_known_ones(workflow: Workflow) -> None:
    config = workflow.config()
    config["descriptors"] = {"names": ["Breast Neoplasm"]}
    output = _dry_run_fails(workflow, config)
    assert "closest known: 'Breast Neoplasms'" in output


def test_prompt_without_the_abstract_placeholder(workflow: Workflow) -> None:
    prompt = workflow.path("prompts/question_general.v2.yaml")
    prompt.write_text(prompt.read_text().replace("Abstract: {abstract}", "Abstract: (none)"))
    output = _dry_run_fails(workflow, workflow.config())
    assert "generators[0].prompt" in output and "{abstract}" in output


def test_judge_prompt_naming_another_reply_schema(workflow: Workflow) -> None:
    prompt = workflow.path("prompts/judge.v2.yaml")
    prompt.write_text(
        prompt.read_text().replace("llm_judge.schema.json", "llm_question.schema.json")
    )
    output = _dry_run_fails(workflow, workflow.config())
    assert "judge.prompt" in output and "llm_judge.schema.json" in output


def test_prompt_without_a_block_for_the_models_mode(workflow: Workflow) -> None:
    config = workflow.config()
    config["models"]["test-general"]["prompt_mode"] = "completion"
    prompt = workflow.path("prompts/answer.v2.yaml")
    text = prompt.read_text()
    prompt.write_text(text[: text.index("completion:")])
    output = _dry_run_fails(workflow, config)
    assert "answerer.prompt" in output and "no 'completion' block" in output
