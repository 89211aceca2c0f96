"""A chosen question no answer holds up for: the pair is swapped (or dropped), never kept as is."""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from meshdistill.testing.openai_server import OpenAITestServer
from tests.workflow import harness
from tests.workflow.harness import (
    API_KEY,
    Workflow,
    _role,
    _user_text,
    copy_sample,
    sample_responder,
)

pytestmark = pytest.mark.workflow

UNANSWERABLE = "Which treatment"  # how the test server's biomedical generator starts questions


def biomedical_questions_unanswerable(request: Mapping[str, Any]) -> str | dict[str, Any]:
    """The sample replies, except that every answer to a biomedical question is a bare "Yes.",
    which the answer_restates_question gate rejects."""
    if _role(request) == "answer" and f"Question: {UNANSWERABLE}" in _user_text(request):
        return "Yes."
    return sample_responder(request)


@pytest.fixture
def swap_workflow(tmp_path: Path) -> Iterator[Workflow]:
    with OpenAITestServer(responder=biomedical_questions_unanswerable, api_key=API_KEY) as server:
        yield Workflow(copy_sample(tmp_path / "sample"), server)


def filtered_records(workflow: Workflow, suffix: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted(glob.glob(str(workflow.path(f"results/filtered/D*{suffix}")))):
        if suffix == ".jsonl" and path.endswith(".dropped.jsonl"):
            continue
        records.extend(workflow.jsonl(str(Path(path).relative_to(workflow.root))))
    return records


def test_an_unanswerable_chosen_question_swaps_the_pair_or_drops_it(
    swap_workflow: Workflow,
) -> None:
    workflow = swap_workflow
    workflow.snakemake()
    pairs = filtered_records(workflow, ".jsonl")
    assert pairs
    # No kept pair has a chosen question without a gated answer.
    assert all(not p["chosen"]["question"].startswith(UNANSWERABLE) for p in pairs)
    swapped = [p for p in pairs if p["preferred_by"] == "answerability"]
    assert swapped, "the sample's scores prefer the biomedical question somewhere"
    for pair in swapped:
        assert pair["margin"] < 0
        assert pair["rejected"]["question"].startswith(UNANSWERABLE)
        tried = [r for r in pair["answer"]["rejected"] if r.get("question")]
        assert tried and all(r["question"] == pair["rejected"]["question"] for r in tried)
        assert {r["gate"] for r in tried} == {"answer_restates_question"}
    for pair in pairs:
        if pair["preferred_by"] == "score":
            assert pair["margin"] >= 0
    preference = workflow.jsonl("results/dataset/preference.jsonl")
    swapped_ids = {p["id"] for p in swapped}
    assert swapped_ids <= {r["id"] for r in preference}
    assert (
        "were swapped (`preferred_by: answerability`)"
        in workflow.path("results/dataset/card.md").read_text()
    )

    # Pairs whose rejected question found no answer either were dropped already.
    unanswered = {
        f"{d['descriptor_ui']}:{d['pmid']}"
        for d in filtered_records(workflow, ".dropped.jsonl")
        if d["reason"] == "answer_restates_question"
    }

    # drop instead: the same pairs go, with the question that went unanswered; nothing is paid.
    paid = workflow.server.total_requests
    workflow.write_config(
        harness.test_config(workflow.server.base_url, selection={"unanswerable_chosen": "drop"})
    )
    workflow.snakemake()
    assert workflow.server.total_requests == paid
    kept = filtered_records(workflow, ".jsonl")
    assert {p["id"] for p in kept} == {p["id"] for p in pairs} - swapped_ids
    drops = {
        f"{d['descriptor_ui']}:{d['pmid']}": d
        for d in filtered_records(workflow, ".dropped.jsonl")
        if d["reason"] == "answer_restates_question"
    }
    assert set(drops) == swapped_ids | unanswered
    for pair in swapped:
        assert drops[pair["id"]]["question"] == pair["rejected"]["question"]
