"""A run killed midway resumes without paying twice for any request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workflow.harness import API_KEY, API_KEY_ENV, Workflow

pytestmark = pytest.mark.workflow


def test_killed_run_resumes_from_the_cache(workflow: Workflow) -> None:
    server = workflow.server
    server.latency_s = 0.15
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "--cores",
        "2",
        "--configfile",
        str(workflow.overlay),
    ]
    env = dict(os.environ, **{API_KEY_ENV: API_KEY})
    process = subprocess.Popen(
        command,
        cwd=workflow.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while server.answered < 10 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    answered_before_kill = server.answered
    assert answered_before_kill >= 10

    server.latency_s = 0.0
    # A SIGKILL (unlike Ctrl-C) leaves Snakemake's directory lock behind, as after a power
    # loss; releasing it is the documented first step, then the run resumes.
    workflow.snakemake("--unlock")
    workflow.snakemake()
    assert workflow.path("results/dataset/sft.jsonl").exists()
    repeated = {key: count for key, count in server.per_request.items() if count > 1}
    # A request in flight when the run was killed was never answered to the client, so it may be
    # asked once more; every request answered before the kill is served from the cache.
    assert sum(repeated.values()) - len(repeated) <= 8, repeated
