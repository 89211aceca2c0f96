"""The E-utilities client against the local E-utilities server: paging, date splitting,
retries, key handling and the raw-response cache."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from meshdistill.errors import ConfigError
from meshdistill.pubmed.entrez import (
    EntrezAuthError,
    EntrezClient,
    EntrezError,
    EntrezSettings,
)
from meshdistill.pubmed.synthetic import ArticleSpec, PubDate, article_xml
from meshdistill.pubmed.transport import Transport
from meshdistill.testing.eutils_server import EutilsTestServer

NAME = "Ependymoglial Cells"
TERM_PHRASE = f'"{NAME}"[MeSH Major Topic]'


def make_articles(
    count: int,
    first_year: int = 2000,
    no_abstract: set[int] = frozenset(),
    no_mesh: set[int] = frozenset(),
) -> dict[str, str]:
    """PMIDs 1000..; one article per month from ``first_year``; some without abstract/MeSH."""
    articles = {}
    for index in range(count):
        pmid = str(1000 + index)
        year, month = first_year + index // 12, index % 12 + 1
        spec = ArticleSpec(
            pmid=pmid,
            title=f"Article {pmid} on Müller glia",
            sections=[] if index in no_abstract else [("RESULTS", f"Finding {pmid}.")],
            headings=[] if index in no_mesh else [("D051136", NAME, True, [])],
            date=PubDate(year, month, 15),
        )
        articles[pmid] = article_xml(spec)
    return articles


def settings_for(server: EutilsTestServer, tmp_path: Path, **overrides: object) -> EntrezSettings:
    values: dict[str, object] = {
        "email": "tester@example.org",
        "api_key": "test-key",  # 10 requests/s keeps the suite quick; the rate test uses 3/s
        "base_url": server.url,
        "batch_size": 10,
        "max_records": 1000,
        "backoff_base_s": 0.01,
        "rate_margin_s": 0.0,
        "throttle_path": tmp_path / "throttle.state",
    }
    values.update(overrides)
    return EntrezSettings(**values)  # type: ignore[arg-type]


def test_paginates_with_history_and_counts_skips(tmp_path: Path) -> None:
    articles = make_articles(35, no_abstract={3}, no_mesh={4, 5})
    with EutilsTestServer(articles, term_index={TERM_PHRASE: list(articles)}) as server:
        client = EntrezClient(settings_for(server, tmp_path))
        records, report = client.fetch_descriptor(NAME, "D051136")
        efetches = [r for r in server.request_log if r.path.endswith("efetch.fcgi")]
    assert report.total_hits == 35 and report.fetched == 35
    assert report.kept == 32 and report.skipped_no_abstract == 1 and report.skipped_no_mesh == 2
    assert [r.pmid for r in records][:3] == ["1034", "1033", "1032"]  # newest first
    assert len(efetches) == 4 and report.requests == 5 and report.date_splits == []
    assert [r.params["retstart"] for r in efetches] == ["0", "10", "20", "30"]
    assert {r.params["WebEnv"] for r in efetches} == {"MCID_00000001"}
    assert report.query == f"({TERM_PHRASE}) AND hasabstract"
    assert all(r.params.get("email") == "tester@example.org" for r in server.request_log)


def test_max_records_limits_fetching(tmp_path: Path) -> None:
    articles = make_articles(35)
    with EutilsTestServer(articles) as server:
        client = EntrezClient(settings_for(server, tmp_path, max_records=12))
        records, report = client.fetch_descriptor(NAME)
    assert len(records) == 12 and report.fetched == 12 and report.total_hits == 35
    assert report.requests == 3  # one search, batches of 10 and 2


def test_splits_by_publication_date_above_the_cap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    articles = make_articles(60, first_year=2001)  # five years, one per month
    with EutilsTestServer(articles, esearch_cap=16) as server:
        settings = settings_for(server, tmp_path, esearch_cap=16, date_from="2001", date_to="2005")
        client = EntrezClient(settings)
        with caplog.at_level(logging.INFO, logger="meshdistill.pubmed.entrez"):
            records, report = client.fetch_descriptor(NAME)
        searches = [r.params["term"] for r in server.request_log if r.path.endswith("esearch.fcgi")]
    assert report.total_hits == 60 and report.fetched == 60 and len(records) == 60
    assert len({r.pmid for r in records}) == 60
    assert len(report.date_splits) >= 4
    assert all(server_hits <= 16 for server_hits in _part_sizes(report.date_splits, articles))
    assert any("splitting" in message for message in caplog.messages)
    assert all("[dp]" in term for term in searches)
    # Newest part first: the first record is the newest article.
    assert records[0].pmid == "1059"


def _part_sizes(parts: list[str], articles: dict[str, str]) -> list[int]:
    from meshdistill.pubmed.query import parse_date
    from meshdistill.testing.eutils_server import _article_date

    dates = [_article_date(text) for text in articles.values()]
    sizes = []
    for part in parts:
        start, end = part.split(":")
        low, high = parse_date(start, upper=False), parse_date(end, upper=True)
        sizes.append(sum(low <= d <= high for d in dates))
    return sizes


def test_split_stops_once_enough_records_are_fetched(tmp_path: Path) -> None:
    articles = make_articles(60, first_year=2001)
    with EutilsTestServer(articles, esearch_cap=16) as server:
        settings = settings_for(
            server, tmp_path, esearch_cap=16, max_records=20, date_from="2001", date_to="2005"
        )
        records, report = EntrezClient(settings).fetch_descriptor(NAME)
    assert report.fetched == 20 and len(records) == 20
    assert [r.pmid for r in records] == [str(p) for p in range(1059, 1039, -1)]


def test_retries_429_and_5xx_honouring_retry_after(tmp_path: Path) -> None:
    articles = make_articles(5)
    sleeps: list[float] = []
    with EutilsTestServer(articles, fail_first_n_with=[429, 503, 500], retry_after=0.05) as server:
        settings = settings_for(server, tmp_path)
        logger = logging.getLogger("test.retry")
        client = EntrezClient(settings, logger, Transport(settings, logger, sleep=sleeps.append))
        records, report = client.fetch_descriptor(NAME)
        statuses = [r.status for r in server.request_log]
    assert len(records) == 5
    assert statuses == [429, 503, 500, 200, 200]
    assert len(sleeps) == 3 and all(delay >= 0.05 for delay in sleeps)


def test_exponential_backoff_without_retry_after(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with EutilsTestServer(make_articles(2), fail_first_n_with=[502] * 3) as server:
        settings = settings_for(server, tmp_path, backoff_base_s=0.5, max_tries=3)
        logger = logging.getLogger("test.backoff")
        client = EntrezClient(settings, logger, Transport(settings, logger, sleep=sleeps.append))
        with pytest.raises(EntrezError, match="after 3 tries: HTTP 502"):
            client.search_relevance("anything", 5)
    assert sleeps == [0.5, 1.0]


def test_rejected_key_is_clear_and_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-key-0123456789"
    with EutilsTestServer(make_articles(3), valid_api_keys={"other"}) as server:
        settings = settings_for(server, tmp_path, api_key=secret)
        assert secret not in repr(settings) and "tester@example.org" not in repr(settings)
        with caplog.at_level(logging.DEBUG), pytest.raises(EntrezAuthError) as info:
            EntrezClient(settings).fetch_descriptor(NAME)
        assert server.request_log[0].params["api_key"] == secret  # it was sent...
    assert "API key" in str(info.value)
    assert secret not in str(info.value) and secret not in caplog.text  # ...but never shown
    assert info.value.__cause__ is None and info.value.__context__ is not None
    assert secret not in repr(info.value.__context__)


def test_cache_makes_rerun_send_nothing_and_stores_no_secrets(tmp_path: Path) -> None:
    articles = make_articles(25)
    cache = tmp_path / "cache"
    with EutilsTestServer(articles, valid_api_keys={"key-abc"}) as server:
        settings = settings_for(server, tmp_path, api_key="key-abc", cache_dir=cache)
        first, report1 = EntrezClient(settings).fetch_descriptor(NAME)
        sent = len(server.request_log)
        second, report2 = EntrezClient(settings).fetch_descriptor(NAME)
        assert len(server.request_log) == sent  # nothing sent on the rerun
    assert [a.to_dict() for a in first] == [a.to_dict() for a in second]
    assert report1.requests == 4 and report2.requests == 0 and report2.cache_hits == 4
    for path in cache.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "key-abc" not in text and "tester@example.org" not in text


def test_partial_cache_with_expired_history_renews_the_search(tmp_path: Path) -> None:
    articles = make_articles(25)
    cache = tmp_path / "cache"
    with EutilsTestServer(articles) as server:
        settings = settings_for(server, tmp_path, cache_dir=cache)
        first, _ = EntrezClient(settings).fetch_descriptor(NAME)
        # Lose the last batch and let the server forget the history session.
        newest = max(cache.rglob("*.xml"), key=lambda p: p.stat().st_mtime_ns)
        newest.unlink()
        server.expire_history()
        second, report = EntrezClient(settings).fetch_descriptor(NAME)
        assert [r.pmid for r in second] == [r.pmid for r in first]
        assert report.requests == 3  # failed efetch, renewed search, efetch again


def test_search_relevance_and_fetch_pmids(tmp_path: Path) -> None:
    articles = make_articles(230)
    with EutilsTestServer(articles) as server:
        client = EntrezClient(settings_for(server, tmp_path, batch_size=200))
        ranked = client.search_relevance("glia", retmax=5)
        wanted = ["1005", "9999999", *[str(p) for p in range(1229, 1000, -1)], "1005"]
        fetched = client.fetch_pmids(wanted)
        methods = [r.method for r in server.request_log if r.path.endswith("efetch.fcgi")]
        sort = server.request_log[0].params["sort"]
    assert ranked == ["1000", "1001", "1002", "1003", "1004"] and sort == "relevance"
    assert [a.pmid for a in fetched][:3] == ["1005", "1229", "1228"]
    assert len(fetched) == 229  # 1005 once, the unknown PMID absent
    assert methods == ["POST", "GET"]  # 200 ids go by POST, as NCBI asks


def test_settings_from_config_and_env() -> None:
    cfg = {
        "email": "cfg@example.org",
        "api_key_env": "MY_KEY",
        "languages": "eng",
        "date_from": 2010,
        "batch_size": 50,
        "cache_dir": "cache/entrez",
    }
    settings = EntrezSettings.from_config(cfg, {"MY_KEY": "k1", "NCBI_EMAIL": "env@example.org"})
    assert settings.api_key == "k1" and settings.email == "env@example.org"
    assert settings.languages == ("eng",) and settings.date_from == "2010"
    assert settings.requests_per_second == 10.0
    assert EntrezSettings.from_config({}, {}).requests_per_second == 3.0
    assert "k1" not in repr(settings) and "env@example.org" not in str(settings)
    assert str(settings.cache_dir) == "cache/entrez"


@pytest.mark.parametrize(
    ("cfg", "setting"),
    [
        ({"batchsize": 5}, "entrez.batchsize"),
        ({"batch_size": 0}, "entrez.batch_size"),
        ({"batch_size": 300, "esearch_cap": 200}, "entrez.batch_size"),
        ({"date_from": "2010-01-01"}, "entrez.date_from"),
        ({"query_template": "cancer"}, "entrez.query_template"),
        ({"languages": [1]}, "entrez.languages"),
    ],
)
def test_bad_settings_name_the_setting(cfg: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        EntrezSettings.from_config(cfg, {})
    assert info.value.setting == setting
