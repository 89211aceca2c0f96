"""Bad E-utilities replies: never taken for an answer, never cached, and named when they are."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from meshdistill.pubmed.entrez import EntrezClient, EntrezError
from meshdistill.pubmed.transport import Transport
from meshdistill.testing.eutils_server import EutilsTestServer
from tests.pubmed.test_pubmed_entrez import NAME, make_articles, settings_for


def _client(server: EutilsTestServer, tmp_path: Path, **overrides: object) -> EntrezClient:
    settings = settings_for(server, tmp_path, cache_dir=tmp_path / "cache", **overrides)
    logger = logging.getLogger("test.faults")
    return EntrezClient(settings, logger, Transport(settings, logger, sleep=lambda _: None))


def _cached_replies(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").rglob("*.xml"))


@pytest.mark.parametrize("utility", ["esearch", "efetch"])
def test_html_page_with_status_200_is_an_error_and_not_cached(tmp_path: Path, utility: str) -> None:
    with EutilsTestServer(make_articles(3)) as server:
        server.corrupt_next(utility, "html")
        with pytest.raises(EntrezError, match="HTML"):
            _client(server, tmp_path).fetch_descriptor(NAME)
        # The fault is gone: a rerun asks again and gets every article.
        records, _ = _client(server, tmp_path).fetch_descriptor(NAME)
    assert len(records) == 3


@pytest.mark.parametrize("utility", ["esearch", "efetch"])
def test_truncated_reply_is_an_error_and_not_cached(tmp_path: Path, utility: str) -> None:
    with EutilsTestServer(make_articles(3)) as server:
        server.corrupt_next(utility, "truncate")
        with pytest.raises(EntrezError, match={"esearch": "ESearch", "efetch": "EFetch"}[utility]):
            _client(server, tmp_path).fetch_descriptor(NAME)
        for path in _cached_replies(tmp_path):
            assert path.read_bytes().rstrip().endswith(b">")  # only whole replies were kept
        records, _ = _client(server, tmp_path).fetch_descriptor(NAME)
    assert len(records) == 3


def test_efetch_reply_with_more_records_than_asked_is_not_cached(tmp_path: Path) -> None:
    with EutilsTestServer(make_articles(12)) as server:
        server.corrupt_next("efetch", "extra")
        with pytest.raises(EntrezError, match="asked for 10"):
            _client(server, tmp_path).fetch_descriptor(NAME)
        records, _ = _client(server, tmp_path).fetch_descriptor(NAME)
    assert len(records) == 12


def test_bad_cached_reply_names_the_file_and_says_to_delete_it(tmp_path: Path) -> None:
    with EutilsTestServer(make_articles(3)) as server:
        _client(server, tmp_path).fetch_descriptor(NAME)
        damaged = _cached_replies(tmp_path)[0]
        damaged.write_bytes(damaged.read_bytes()[:40])
        with pytest.raises(EntrezError) as info:
            _client(server, tmp_path).fetch_descriptor(NAME)
    message = str(info.value)
    assert str(damaged) in message and "delete" in message


def test_cache_is_keyed_on_the_endpoint(tmp_path: Path) -> None:
    with (
        EutilsTestServer(make_articles(3)) as first,
        EutilsTestServer(make_articles(5, first_year=2010)) as second,
    ):
        from_first, _ = _client(first, tmp_path).fetch_descriptor(NAME)
        from_second, _ = _client(second, tmp_path).fetch_descriptor(NAME)
        assert len(second.request_log) == 2  # asked itself, not served the first one's replies
    assert len(from_first) == 3 and len(from_second) == 5


def test_connection_dropped_mid_reply_is_retried(tmp_path: Path) -> None:
    with EutilsTestServer(make_articles(3)) as server:
        server.corrupt_next("efetch", "drop")
        records, report = _client(server, tmp_path).fetch_descriptor(NAME)
    assert len(records) == 3 and report.requests == 3
