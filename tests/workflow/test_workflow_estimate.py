"""`meshdistill estimate` prices the pending LLM work against the cache, before any run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow


def estimate(workflow: Workflow) -> dict[tuple[str, str], dict]:
    command = [
        str(Path(sys.executable).with_name("meshdistill")),
        "estimate",
        "--json",
        "--configfile",
        str(workflow.overlay),
    ]
    result = subprocess.run(
        command,
        cwd=workflow.root,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    return {(row["stage"], row["model"]): row for row in json.loads(result.stdout)}


def test_estimate_before_and_after_a_run(workflow: Workflow) -> None:
    before = estimate(workflow)
    questions = before["questions", "test-general"]
    # 3 descriptors x 2 abstracts, one question each from the general generator.
    assert questions["requests"] == 6 and questions["calls"] == 6 and questions["exact"]
    assert questions["prompt_tokens"] > 0 and questions["cost_usd"] > 0
    assert before["judge", "test-general"]["calls"] == 12
    assert workflow.server.total_requests == 0, "estimating calls no model"

    workflow.snakemake()
    after = estimate(workflow)
    for key in (
        ("questions", "test-general"),
        ("questions", "test-bio"),
        ("judge", "test-general"),
    ):
        assert after[key]["calls"] == 0 and after[key]["cached"] == after[key]["requests"], key
    assert after["answers", "test-general"]["requests"] > 0  # written answers are priced


def test_extracted_answers_cost_nothing(workflow: Workflow) -> None:
    config = workflow.config()
    config["answerer"]["method"] = "extract"
    workflow.write_config(config)
    rows = estimate(workflow)
    assert rows["questions", "test-general"]["requests"] == 6
    assert not [key for key in rows if key[0] == "answers"], rows
