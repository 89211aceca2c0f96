"""Fixtures: a copy of the sample workflow and a local OpenAI-compatible test server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshdistill.testing.openai_server import OpenAITestServer
from tests.workflow.harness import API_KEY, Workflow, copy_sample, sample_responder


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer(responder=sample_responder, api_key=API_KEY) as running:
        yield running


@pytest.fixture
def workflow(tmp_path: Path, server: OpenAITestServer) -> Workflow:
    return Workflow(copy_sample(tmp_path / "sample"), server)
