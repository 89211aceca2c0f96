"""The request rate, measured on the server side, while three processes share one throttle."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from meshdistill.pubmed.entrez import EntrezClient, EntrezSettings
from meshdistill.pubmed.synthetic import ArticleSpec, article_xml
from meshdistill.testing.eutils_server import EutilsTestServer, max_requests_in_window

PROCESSES = 3


def _worker(base_url: str, throttle: str, api_key: str | None, worker: int, calls: int) -> None:
    settings = EntrezSettings(
        email="rate@example.org",
        api_key=api_key,
        base_url=base_url,
        throttle_path=Path(throttle),
    )
    client = EntrezClient(settings)
    for call in range(calls):
        client.search_relevance(f"query {worker}-{call}", retmax=1)


@pytest.mark.parametrize(("api_key", "limit", "calls"), [(None, 3, 3), ("rate-key", 10, 7)])
def test_parallel_jobs_share_the_rate_limit(
    tmp_path: Path, api_key: str | None, limit: int, calls: int
) -> None:
    spec = ArticleSpec("1", "T", [(None, "A.")], [("D000001", "Calcimycin", False, [])])
    context = multiprocessing.get_context("fork")
    with EutilsTestServer({"1": article_xml(spec)}) as server:
        jobs = [
            context.Process(
                target=_worker,
                args=(server.url, str(tmp_path / "ncbi.throttle"), api_key, worker, calls),
            )
            for worker in range(PROCESSES)
        ]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(timeout=60)
        assert [job.exitcode for job in jobs] == [0] * PROCESSES
        times = [record.time for record in server.request_log]
    assert len(times) == PROCESSES * calls
    assert max_requests_in_window(times, 1.0) <= limit
    # The limit is used, not just respected: the whole run takes about (n - 1) / rate seconds.
    assert max(times) - min(times) < (len(times) - 1) / limit + 1.0


def test_window_counter() -> None:
    assert max_requests_in_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert max_requests_in_window([]) == 0
