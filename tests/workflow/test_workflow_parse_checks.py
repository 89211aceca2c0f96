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
