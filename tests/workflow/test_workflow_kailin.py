"""The workflow with `method: kailin` on a copy of the sample: KAILIN's scorer drives selection,
every heading is kept, and its filter drops sources where a generator scores above 0.5."""

from __future__ import annotations

import pytest

from meshdistill.schemas import validate
from tests.workflow.harness import TEST_DESCRIPTORS, Workflow

pytestmark = pytest.mark.workflow


def test_kailin_method_runs_end_to_end(workflow: Workflow) -> None:
    config = workflow.config()
    # A low threshold, so that the filter visibly drops some of the sample's sources.
    config.update(
        method="kailin",
        methods={"kailin": {"selection": {"kailin_filter": {"score_threshold": 0.08}}}},
        # BM25 keeps this test quick; the dense retrieval of the method is tested on its own.
        retrieval=dict(config.get("retrieval", {}), method="bm25"),
    )
    workflow.write_config(config)
    workflow.snakemake()
    scored = [r for ui in TEST_DESCRIPTORS for r in workflow.jsonl(f"results/scored/{ui}.jsonl")]
    assert scored
    highest: dict[tuple[str, str], float] = {}
    for record in scored:
        scores = record["scores"]
        if scores is None:
            continue  # a failed question; it cannot block its source
        assert scores["hierarchy_measure"] == "kailin"
        assert scores["hierarchy"] == scores["hierarchy_by_measure"]["kailin"]
        assert record["retrieval"]["k"] == 4
        key = (record["descriptor_ui"], record["pmid"])
        highest[key] = max(highest.get(key, 0.0), scores["hierarchy"])
    dropped = [
        d for ui in TEST_DESCRIPTORS for d in workflow.jsonl(f"results/filtered/{ui}.dropped.jsonl")
    ]
    filtered = {
        (d["descriptor_ui"], d["pmid"]) for d in dropped if d["reason"] == "above_kailin_threshold"
    }
    assert filtered == {key for key, value in highest.items() if value > 0.08}
    assert filtered and len(filtered) < len(highest)
    for record in dropped:
        validate(record, "dropped_record.schema.json", "drop")
    for record in workflow.jsonl("results/dataset/preference.jsonl"):
        validate(record, "preference_record.schema.json", "preference")
