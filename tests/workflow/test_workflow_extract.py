"""answerer.method extract (the default for the bundled model): each chosen question's answer is
a finding sentence of its own source, taken without a model call."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from meshdistill.quality import QualitySettings
from meshdistill.quality.quoting import evidence_sentences
from tests.workflow.harness import Workflow, _role

pytestmark = pytest.mark.workflow


def test_extracted_answers_are_finding_sentences_of_the_source(workflow: Workflow) -> None:
    config = workflow.config()
    config["answerer"]["method"] = "extract"
    workflow.write_config(config)
    workflow.snakemake()

    asked = [json.loads(request) for request in workflow.server.per_request]
    assert asked and not [r for r in asked if _role(r) == "answer"], "extracting calls no model"
    pairs = [
        record
        for path in sorted(glob.glob(str(workflow.path("results/filtered/D*.jsonl"))))
        if not path.endswith(".dropped.jsonl")
        for record in workflow.jsonl(str(Path(path).relative_to(workflow.root)))
    ]
    assert pairs
    settings = QualitySettings()
    for pair in pairs:
        answer = pair["answer"]
        assert answer["method"] == "extract" and "generation" not in answer
        findings = [
            s.text for s in evidence_sentences([pair["source"]["abstract"]], settings) if s.finding
        ]
        assert answer["text"] in findings, pair["id"]
        assert len(answer["matched_words"]) >= settings.extract_min_question_words
    provenance = [json.loads(line) for line in workflow.path("results/dataset/sft.jsonl").open()]
    assert provenance
    for record in provenance:
        meta = record["provenance"]
        assert meta["answer_method"] == "extract" and meta["answer_model"] is None
    card = workflow.path("results/dataset/card.md").read_text()
    assert "- **method**: extract (the source's finding sentence nearest the question" in card
