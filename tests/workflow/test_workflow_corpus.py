"""The local corpus is ingested once per set of files; abstracts jobs read the table."""

from __future__ import annotations

import json

import pytest

from meshdistill.pubmed.records_io import write_jsonl
from meshdistill.records import AbstractSection, Article, MeshHeading
from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow


def test_one_ingest_serves_every_descriptor_and_an_override_gets_its_own(
    workflow: Workflow,
) -> None:
    workflow.snakemake("results/abstracts/D001943.jsonl", "results/abstracts/D003924.jsonl")
    manifest = json.loads(workflow.path("results/corpus/default/manifest.json").read_text())
    assert manifest["articles"] > 0 and manifest["report"]["files"] == [
        "data/corpus/sample_pubmed.xml"
    ]
    log = workflow.path("logs/abstracts/D001943.log").read_text()
    assert "results/corpus/default" in log and "'read':" in log
    ingested = workflow.mtimes("results/corpus/default/*")

    # A descriptor whose override names other files reads its own ingest of them.
    own = Article(
        pmid="99999901",
        title="Override corpus article",
        abstract_sections=[AbstractSection(None, "Only in the override corpus.")],
        mesh_headings=[MeshHeading("D009203", "Myocardial Infarction", True)],
    )
    write_jsonl(workflow.path("data/corpus/override.jsonl"), [own])
    config = workflow.config()
    config["descriptors"]["overrides"] = {
        "D009203": {"abstracts": {"local": {"paths": ["data/corpus/override.jsonl"]}}}
    }
    workflow.write_config(config)
    dry_run = workflow.snakemake("-n", "results/abstracts/D009203.jsonl").stdout
    assert "results/corpus/D009203/articles.parquet" in dry_run
    workflow.snakemake("results/abstracts/D009203.jsonl")
    assert [r["pmid"] for r in workflow.jsonl("results/abstracts/D009203.jsonl")] == ["99999901"]
    assert workflow.mtimes("results/corpus/default/*") == ingested  # the shared one stays
