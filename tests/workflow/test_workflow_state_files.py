"""Damaged state files stop a run with a message naming the file and what to do."""

from __future__ import annotations

import pytest

from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow

TARGET = "results/questions/D001943.jsonl"


@pytest.mark.parametrize(
    ("state_file", "content"),
    [("cache/llm.sqlite", b"\x00not a database" * 200), ("cache/spend.json", b'{"spent_usd": ')],
)
def test_damaged_state_file_is_named_without_a_traceback(
    workflow: Workflow, state_file: str, content: bytes
) -> None:
    path = workflow.path(state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    result = workflow.snakemake(TARGET, check=False)
    assert result.returncode != 0
    assert f"meshdistill questions: {state_file}" in result.stderr, result.stderr
    assert "delete" in result.stderr and "Traceback" not in result.stderr
    assert workflow.server.total_requests == 0
