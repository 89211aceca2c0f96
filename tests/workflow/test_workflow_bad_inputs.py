"""Bad input stops with a clear message naming the file, record or setting; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workflow.harness import API_KEY, Workflow

pytestmark = pytest.mark.workflow


def failing_run(workflow: Workflow, *args: str) -> str:
    result = workflow.snakemake(*args, check=False)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"uis": ["D999999"]}, "unknown MeSH UI 'D999999'"),
        ({"names": ["Not A Real Disease"]}, "unknown MeSH name 'Not A Real Disease'"),
        (
            {"subtrees": [{"tree_number": "C99.999", "max_depth": 1}]},
            "unknown MeSH tree number 'C99.999'",
        ),
    ],
)
def test_unknown_descriptor_stops_before_any_job(
    workflow: Workflow, selection: dict, message: str
) -> None:
    config = workflow.config()
    config["descriptors"] = selection
    workflow.write_config(config)
    output = failing_run(workflow, "-n")
    assert message in output
    assert not workflow.path("results").exists()
    assert workflow.server.total_requests == 0


def test_invalid_config_names_the_setting(workflow: Workflow) -> None:
    config = workflow.config()
    config["scoring"] = {"measure": "cosine"}
    workflow.write_config(config)
    output = failing_run(workflow, "-n")
    assert "cosine" in output and "measure" in output


def test_relevance_order_of_a_local_corpus_stops_at_parse_time(workflow: Workflow) -> None:
    config = workflow.config()
    config["abstracts"]["order"] = "relevance"
    workflow.write_config(config)
    output = failing_run(workflow, "-n")
    assert "abstracts.order" in output and "entrez" in output
    assert not workflow.path("results").exists()


def test_generator_naming_an_unknown_model(workflow: Workflow) -> None:
    config = workflow.config()
    config["generators"][1]["model"] = "missing-model"
    workflow.write_config(config)
    output = failing_run(workflow, "-n")
    assert "generators[1].model" in output and "missing-model" in output


def test_malformed_corpus_names_the_file_and_keeps_other_outputs(workflow: Workflow) -> None:
    workflow.snakemake("results/abstracts/D001943.jsonl")
    kept = workflow.path("results/abstracts/D001943.jsonl").read_bytes()
    broken = workflow.path("data/corpus/broken.xml")
    broken.write_text("<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>")
    config = workflow.config()
    config["descriptors"] = {"uis": ["D009203"]}
    config["abstracts"]["local"] = {"paths": ["data/corpus/broken.xml"]}
    workflow.write_config(config)
    output = failing_run(workflow, "results/abstracts/D009203.jsonl")
    assert "broken.xml" in output
    assert workflow.path("results/abstracts/D001943.jsonl").read_bytes() == kept


def test_abstract_without_headings_is_skipped_and_counted(workflow: Workflow) -> None:
    sample = workflow.path("data/corpus/sample_pubmed.xml").read_text()
    start = sample.index("<MeshHeadingList>")
    end = sample.index("</MeshHeadingList>") + len("</MeshHeadingList>")
    workflow.path("data/corpus/sample_pubmed.xml").write_text(sample[:start] + sample[end:])
    workflow.snakemake("results/abstracts/D001943.jsonl")
    log = workflow.path("logs/abstracts/D001943.log").read_text()
    assert "'skipped_no_mesh': 1" in log


def test_unusable_question_replies_are_recorded_with_their_gate(workflow: Workflow) -> None:
    original = workflow.server.responder

    def responder(request: dict) -> str:
        if request["model"] == "test-model-bio":
            return "Sure! Here is a question: what is it"
        return original(request)

    workflow.server.responder = responder
    # Every pair needs both generators, so the dataset ends empty: allowed here, to look at it.
    config = workflow.config()
    config["dataset"] = {"allow_empty": True}
    workflow.write_config(config)
    result = workflow.snakemake()
    assert "the dataset is empty" in result.stderr
    questions = workflow.jsonl("results/questions/D001943.jsonl")
    failed = [q for q in questions if q["generator"] == "biomedical"]
    assert failed and all(q["question"] is None for q in failed)
    assert all(q["generation"]["status"] == "failed" for q in failed)
    assert all("Sure! Here is a question" in q["generation"]["raw_reply"] for q in failed)
    assert all(q["rejected_candidates"][-1]["gate"] == "question_scaffolding" for q in failed)
    dropped = workflow.jsonl("results/filtered/D001943.dropped.jsonl")
    assert {d["reason"] for d in dropped} == {"question_scaffolding", "too_few_questions"}
    assert workflow.path("results/dataset/stats.json").exists()


def test_rejected_api_key_stops_with_a_clear_message(workflow: Workflow) -> None:
    output = workflow.snakemake(
        "results/questions/D001943.jsonl", check=False, env={"MESHDISTILL_TEST_KEY": "sk-wrong-key"}
    )
    text = output.stdout + output.stderr
    assert output.returncode != 0
    assert "MESHDISTILL_TEST_KEY" in text
    assert "sk-wrong-key" not in text and API_KEY not in text
    assert not workflow.path("results/questions/D001943.jsonl").exists()
    log = Path(workflow.path("logs/questions/D001943.log")).read_text()
    assert "sk-wrong-key" not in log
    json.dumps(log)  # the log is plain text


def test_server_refusing_the_structured_output_mode_stops_with_its_reason(
    workflow: Workflow,
) -> None:
    # llama-cpp-python's server answers response_format json_schema with HTTP 500.
    workflow.server.flavour = "llama_cpp_python"
    output = failing_run(workflow)
    assert "Input should be 'text' or 'json_object'" in output
    assert "models.test-general.structured_output (now json_schema)" in output
    assert "gave up after" not in output and "retry 1/" not in output
    refused = workflow.server.refused
    assert 0 < refused <= 3 * 4  # at most the requests already in flight per scoring job

    # The mode that server takes: the same run completes.
    config = workflow.config()
    for model in config["models"].values():
        model["structured_output"] = "json_object_schema"
    workflow.write_config(config)
    workflow.snakemake()
    assert workflow.server.refused == refused
    assert workflow.path("results/dataset/sft.jsonl").stat().st_size > 0


def test_budget_cap_stops_cleanly_and_a_rerun_pays_nothing_twice(workflow: Workflow) -> None:
    config = workflow.config()
    config["llm"] = {"budget_usd": 0.001}
    workflow.write_config(config)
    output = failing_run(workflow)
    assert "budget" in output.lower()
    paid_requests = workflow.server.total_requests
    assert paid_requests > 0
    assert workflow.path("cache/spend.json").exists()

    config["llm"] = {"budget_usd": 10.0}
    workflow.write_config(config)
    workflow.snakemake()
    assert workflow.path("results/dataset/sft.jsonl").exists()
    assert max(workflow.server.per_request.values()) == 1, "no request was paid twice"
