"""A role sent through the provider's batch API in a real workflow run, and its parse-time check."""

from __future__ import annotations

import json

import pytest

from tests.workflow.harness import Workflow

pytestmark = pytest.mark.workflow

BATCH = {"enabled": True, "poll_s": 0.05, "timeout_s": 120, "price_factor": 0.5}


def test_the_judge_as_a_batch_then_replayed_by_a_run_without_batches(workflow: Workflow) -> None:
    server = workflow.server
    config = workflow.config()
    config["descriptors"] = {"uis": ["D001943"]}  # one descriptor keeps the two runs short
    # The judge's own model id: same endpoint and model as test-general, so the same cache keys.
    config["models"]["judge-batch"] = dict(config["models"]["test-general"], batch=BATCH)
    config["judge"]["model"] = "judge-batch"
    workflow.write_config(config)
    # A job waiting for its batch has nothing in flight, so it holds no llm_slots.
    planned = workflow.snakemake("-n").stdout
    scored = planned.split("rule scored:", 1)[1].split("\n\n", 1)[0]
    assert "llm_slots=0" in scored, scored
    workflow.snakemake()
    batches = list(server.batch_api.batches.values())
    assert batches and all(b["status"] == "completed" for b in batches)
    assert {b["endpoint"] for b in batches} == {"/v1/chat/completions"}
    judged = sum(b["request_counts"]["completed"] for b in batches)
    assert judged > 0
    stats = json.loads(workflow.path("results/dataset/stats.json").read_text())
    assert "judge-batch" in json.dumps(stats)
    sent = server.total_requests

    # Back to synchronous calls: every judge request is answered from the cache.
    config["judge"]["model"] = "test-general"
    workflow.write_config(config)
    workflow.snakemake()
    assert server.total_requests == sent
    assert len(server.batch_api.batches) == len(batches)
    assert workflow.path("results/dataset/sft.jsonl").exists()


def test_batch_on_the_in_process_model_fails_at_parse_time(workflow: Workflow) -> None:
    config = workflow.config()
    config["models"]["gemma-270m"] = {"batch": {"enabled": True}}
    workflow.write_config(config)
    result = workflow.snakemake("-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "models.gemma-270m.batch.enabled" in output and "llama" in output, output
    assert server_untouched(workflow)


def server_untouched(workflow: Workflow) -> bool:
    return workflow.server.total_requests == 0 and workflow.server.batch_api.created == 0
