"""Fetch PubMed articles for MeSH descriptors through NCBI's E-utilities.

Per descriptor: one ESearch on the history server gives the hit count; if more records are
wanted than PubMed lets one query page through (10,000), the query is split by publication
date until every part fits, newest part first; each part is fetched with EFetch in batches.
Every reply is cached on disk, keyed by the endpoint and what it answers, so a rerun sends no
requests. A reply is cached only once it has been read whole and checked (root element, counts):
an HTML page, a truncated reply or an error message is never kept as an answer.

``EntrezSettings.order`` picks which records come first: ``newest`` is ESearch's default
("most recent") order and ``relevance`` its ``sort=relevance``, both fetched from the
history server as above; ``oldest`` and ``random`` list the PMIDs (at most the ESearch cap,
the most recent ones when there are more), reorder them (:mod:`meshdistill.pubmed.order`)
and fetch by PMID until enough usable records are in.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from meshdistill.content import looks_like_html
from meshdistill.errors import InputError
from meshdistill.pubmed.entrez_settings import EntrezSettings
from meshdistill.pubmed.filtering import SkipReason, skip_reason
from meshdistill.pubmed.order import ordered_pmids
from meshdistill.pubmed.query import (
    DateRange,
    SearchResult,
    build_term,
    efetch_error,
    full_date_range,
    parse_esearch,
    settings_date_range,
    with_dates,
)
from meshdistill.pubmed.response_cache import ResponseCache
from meshdistill.pubmed.transport import EntrezAuthError, EntrezError, Transport
from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.records import Article

__all__ = [
    "EntrezAuthError",
    "EntrezClient",
    "EntrezError",
    "EntrezSettings",
    "FetchReport",
]

DB = "pubmed"

_Reply = TypeVar("_Reply")


@dataclass
class FetchReport:
    """What one descriptor's fetch did; ``requests`` counts HTTP requests actually sent."""

    query: str
    total_hits: int = 0
    fetched: int = 0
    kept: int = 0
    skipped_no_abstract: int = 0
    skipped_no_mesh: int = 0
    date_splits: list[str] = field(default_factory=list)
    requests: int = 0
    cache_hits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total_hits": self.total_hits,
            "fetched": self.fetched,
            "kept": self.kept,
            "skipped_no_abstract": self.skipped_no_abstract,
            "skipped_no_mesh": self.skipped_no_mesh,
            "date_splits": list(self.date_splits),
            "requests": self.requests,
            "cache_hits": self.cache_hits,
        }


@dataclass
class _Search:
    term: str
    result: SearchResult


@dataclass(frozen=True)
class _FetchReply:
    """The articles of an EFetch reply, or the error NCBI sent instead (then not cached)."""

    articles: list[Article]
    error: str | None = None


def read_efetch(body: bytes, what: str, asked: int) -> _FetchReply:
    """Check and read an EFetch reply for ``asked`` records; raise EntrezError if it is not a
    whole PubMed XML reply (an HTML page, cut short, another root element, too many records)."""
    if looks_like_html(body):
        raise EntrezError(f"EFetch {what}: the reply is an HTML page, not PubMed XML")
    problem = efetch_error(body)
    if problem is not None:
        return _FetchReply([], problem)
    stream = io.BytesIO(body)
    stream.name = f"EFetch reply for {what}"
    try:
        articles = list(iter_pubmed_xml(stream))
    except InputError as exc:
        raise EntrezError(
            f"EFetch {what}: the reply is not whole PubMed XML ({exc.problem})"
        ) from None
    if len(articles) > asked:
        raise EntrezError(
            f"EFetch {what}: the reply has {len(articles)} records, but it asked for {asked}"
        )
    return _FetchReply(articles)


class EntrezClient:
    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], env: Mapping[str, str], logger: logging.Logger | None = None
    ) -> EntrezClient:
        """A client for the ``abstracts.entrez`` config section (see EntrezSettings.from_config)."""
        return cls(EntrezSettings.from_config(cfg, env), logger=logger)

    def __init__(
        self,
        settings: EntrezSettings,
        logger: logging.Logger | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.logger = logger or logging.getLogger("meshdistill.pubmed.entrez")
        self.transport = transport or Transport(settings, self.logger)
        self.cache = (
            ResponseCache(settings.cache_dir, endpoint=settings.eutils_url)
            if settings.cache_dir
            else None
        )
        self.cache_hits = 0
        if not settings.email and settings.base_url is None:
            self.logger.warning("no NCBI e-mail set (NCBI_EMAIL): NCBI asks for one")

    @property
    def requests_sent(self) -> int:
        return self.transport.requests_sent

    # -- one cached request ------------------------------------------------------------
    def _request(
        self,
        utility: str,
        params: dict[str, Any],
        read: Callable[[bytes], _Reply],
        cache_params: dict[str, Any] | None = None,
        refresh: bool = False,
        keep: Callable[[_Reply], bool] = lambda _: True,
    ) -> _Reply:
        """Send (or read from the cache) one request and ``read`` the reply.

        ``read`` raises EntrezError for a reply that is not a whole, sound answer; such a reply
        is never cached, nor one that ``keep`` turns down. ``cache_params`` overrides the key.
        """
        key_params = cache_params if cache_params is not None else params
        if self.cache is not None and not refresh:
            cached = self.cache.get(utility, key_params)
            if cached is not None:
                try:
                    reply = read(cached)
                except EntrezError as exc:
                    path = self.cache.path_for(utility, key_params)
                    raise EntrezError(
                        f"the cached reply {path} is unusable ({exc}); delete that file (or the "
                        f"whole folder {self.cache.directory}) and run again to fetch it anew"
                    ) from None
                self.cache_hits += 1
                return reply
        body = self.transport.get(utility, params)
        reply = read(body)
        if self.cache is not None and keep(reply):
            self.cache.put(utility, key_params, body)
        return reply

    # -- searching ---------------------------------------------------------------------
    def _sort_params(self) -> dict[str, str]:
        return {"sort": "relevance"} if self.settings.order == "relevance" else {}

    def _history_search(self, term: str, refresh: bool = False) -> _Search:
        params: dict[str, Any] = {
            "db": DB,
            "term": term,
            "usehistory": "y",
            "retmax": 0,
            "retmode": "xml",
            **self._sort_params(),
        }
        result = self._request(
            "esearch",
            params,
            lambda body: parse_esearch(body, f"ESearch {term!r}"),
            refresh=refresh,
        )
        return _Search(term, result)

    def search_relevance(self, query: str, retmax: int) -> list[str]:
        """PMIDs for ``query`` in PubMed's relevance order (at most the ESearch cap)."""
        params = {
            "db": DB,
            "term": query,
            "sort": "relevance",
            "retmax": max(0, min(retmax, self.settings.esearch_cap)),
            "retmode": "xml",
        }
        return self._request(
            "esearch", params, lambda body: parse_esearch(body, f"ESearch {query!r}")
        ).ids

    # -- fetching ----------------------------------------------------------------------
    def _fetch_history_batch(self, search: _Search, retstart: int, retmax: int) -> list[Article]:
        # Keyed by the query rather than the WebEnv, which differs per session: a rerun
        # finds the batch whatever history session it is in.
        cache_params = {
            "db": DB,
            "term": search.term,
            "retstart": retstart,
            "retmax": retmax,
            **self._sort_params(),
        }
        for fresh_search in (False, True):
            params = {
                "db": DB,
                "WebEnv": search.result.webenv,
                "query_key": search.result.query_key,
                "retstart": retstart,
                "retmax": retmax,
                "retmode": "xml",
            }
            what = f"for {search.term!r} at {retstart}"
            reply = self._request(
                "efetch",
                params,
                partial(read_efetch, what=what, asked=retmax),
                cache_params=cache_params,
                keep=lambda fetched: fetched.error is None,
            )
            problem = reply.error
            if problem is None:
                return reply.articles
            if fresh_search:
                break
            # Usually an expired history session (e.g. a search read from the cache): search
            # again for a live WebEnv and retry the batch once.
            self.logger.info("EFetch for %r said %r; renewing the search", search.term, problem)
            search.result = self._history_search(search.term, refresh=True).result
        raise EntrezError(f"EFetch for {search.term!r} at {retstart} failed: {problem}")

    def _keep(self, article: Article, report: FetchReport, articles: list[Article]) -> None:
        report.fetched += 1
        reason = skip_reason(article)
        if reason is SkipReason.NO_ABSTRACT:
            report.skipped_no_abstract += 1
        elif reason is SkipReason.NO_MESH:
            report.skipped_no_mesh += 1
        else:
            report.kept += 1
            articles.append(article)

    def _collect(
        self,
        search: _Search,
        wanted: int,
        report: FetchReport,
        articles: list[Article],
        seen: set[str],
    ) -> None:
        """Fetch up to ``wanted`` records of an ESearch that fits under the cap."""
        total = min(search.result.count, wanted, self.settings.esearch_cap)
        for retstart in range(0, total, self.settings.batch_size):
            size = min(self.settings.batch_size, total - retstart)
            for article in self._fetch_history_batch(search, retstart, size):
                if article.pmid in seen:
                    continue
                seen.add(article.pmid)
                self._keep(article, report, articles)

    def _fetch_range(
        self,
        term: str,
        dates: DateRange,
        search: _Search | None,
        report: FetchReport,
        articles: list[Article],
        seen: set[str],
    ) -> None:
        remaining = self.settings.max_records - report.fetched
        if remaining <= 0:
            return
        if search is None:
            search = self._history_search(with_dates(term, dates))
        cap = self.settings.esearch_cap
        if min(search.result.count, remaining) <= cap or not dates.splittable:
            if search.result.count > cap and min(search.result.count, remaining) > cap:
                self.logger.warning(
                    "%s has %d hits in one day, over the ESearch cap %d: only %d fetched",
                    search.term,
                    search.result.count,
                    cap,
                    cap,
                )
            if search.result.count:
                report.date_splits.append(dates.label())
                self._collect(search, remaining, report, articles, seen)
            return
        newer, older = dates.halves()
        self.logger.info(
            "%r: %d hits, more than the ESearch cap %d; splitting %s into %s and %s",
            term,
            search.result.count,
            cap,
            dates.label(),
            newer.label(),
            older.label(),
        )
        self._fetch_range(term, newer, None, report, articles, seen)
        self._fetch_range(term, older, None, report, articles, seen)

    def fetch_descriptor(
        self, name: str, ui: str | None = None
    ) -> tuple[list[Article], FetchReport]:
        """Fetch up to ``max_records`` articles for one descriptor; keep the usable ones."""
        term = build_term(name, ui, self.settings)
        configured = settings_date_range(self.settings)
        sent_before, hits_before = self.requests_sent, self.cache_hits
        articles: list[Article] = []
        if self.settings.order in ("oldest", "random"):
            report = self._fetch_reordered(with_dates(term, configured), articles)
        else:
            top = self._history_search(with_dates(term, configured))
            report = FetchReport(query=top.term, total_hits=top.result.count)
            seen: set[str] = set()
            wanted = min(top.result.count, self.settings.max_records)
            if wanted <= self.settings.esearch_cap:
                self._collect(top, wanted, report, articles, seen)
            else:
                self._fetch_range(
                    term, configured or full_date_range(self.settings), top, report, articles, seen
                )
        report.requests = self.requests_sent - sent_before
        report.cache_hits = self.cache_hits - hits_before
        self.logger.info(
            "%s: %d hits, %d fetched, %d kept (%d without abstract, %d without MeSH), "
            "%d requests, %d cached replies%s",
            name,
            report.total_hits,
            report.fetched,
            report.kept,
            report.skipped_no_abstract,
            report.skipped_no_mesh,
            report.requests,
            report.cache_hits,
            f", date parts {report.date_splits}" if len(report.date_splits) > 1 else "",
        )
        return articles, report

    def _fetch_reordered(self, term: str, articles: list[Article]) -> FetchReport:
        """Fetch up to ``max_records`` records by PMID, in ``settings.order`` over the PMIDs
        ESearch lists (as with the other orders, unusable records count towards the limit)."""
        cap = self.settings.esearch_cap
        params = {"db": DB, "term": term, "retmax": cap, "retmode": "xml"}
        listed = self._request(
            "esearch", params, lambda body: parse_esearch(body, f"ESearch {term!r}")
        )
        report = FetchReport(query=term, total_hits=listed.count)
        if listed.count > len(listed.ids):
            self.logger.warning(
                "%r: %d hits, more than the ESearch cap %d: order '%s' applies to the %d most "
                "recent (narrow the query or set date_from/date_to to reach older records)",
                term,
                listed.count,
                cap,
                self.settings.order,
                len(listed.ids),
            )
        pending = ordered_pmids(listed.ids, self.settings.order, self.settings.seed)
        while pending and report.fetched < self.settings.max_records:
            size = min(self.settings.batch_size, self.settings.max_records - report.fetched)
            batch, pending = pending[:size], pending[size:]
            for article in self.fetch_pmids(batch):
                self._keep(article, report, articles)
        return report

    def fetch_pmids(self, pmids: Sequence[str]) -> list[Article]:
        """Articles for ``pmids`` (any usable or not), in the order asked; unknown ones absent."""
        unique = list(dict.fromkeys(str(p).strip() for p in pmids if str(p).strip()))
        found: dict[str, Article] = {}
        for start in range(0, len(unique), self.settings.batch_size):
            batch = unique[start : start + self.settings.batch_size]
            params = {"db": DB, "id": ",".join(batch), "retmode": "xml"}
            what = f"of {len(batch)} PMIDs from {batch[0]}"
            reply = self._request(
                "efetch",
                params,
                partial(read_efetch, what=what, asked=len(batch)),
                keep=lambda fetched: fetched.error is None,
            )
            if reply.error is not None:
                raise EntrezError(f"EFetch {what} failed: {reply.error}")
            for article in reply.articles:
                found.setdefault(article.pmid, article)
        return [found[p] for p in unique if p in found]
