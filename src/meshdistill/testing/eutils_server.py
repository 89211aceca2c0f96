"""A local stand-in for NCBI's E-utilities (ESearch/EFetch on PubMed), for tests.

It speaks enough of the protocol to drive the real client: ESearch with ``term``,
``retstart``/``retmax``, ``sort=relevance`` and ``usehistory=y`` (WebEnv/QueryKey), the
publication-date clause ``("YYYY/MM/DD"[dp] : "YYYY/MM/DD"[dp])``, PubMed's paging cap, EFetch by
history or by ``id`` (GET or POST). It can fail on purpose (429/5xx, with Retry-After), reject
API keys the way NCBI does (HTTP 400 with a JSON body), expire history sessions and spoil a
reply the ways networks and proxies do (see :meth:`EutilsTestServer.corrupt_next`). Every
request is logged with its arrival time so tests can measure the request rate server-side.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from meshdistill.pubmed.query import parse_date
from meshdistill.pubmed.synthetic import XML_FOOTER, XML_HEADER

_DATE_CLAUSE = re.compile(
    r'\s*(?:AND\s+)?\(\s*"(\d{4}(?:/\d{2}){0,2})"\[dp\]\s*:\s*"(\d{4}(?:/\d{2}){0,2})"\[dp\]\s*\)'
)
_ESEARCH_HEADER = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
DEFAULT_RETMAX = 20

#: Ways :meth:`EutilsTestServer.corrupt_next` can spoil a reply that would have succeeded.
CORRUPTIONS = frozenset({"html", "truncate", "drop", "extra"})
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head>"
    b"<body><h1>Temporarily unavailable</h1><p>Please try again later.</p></body></html>\n"
)


@dataclass(frozen=True)
class RequestRecord:
    time: float
    method: str
    path: str
    params: dict[str, str]
    status: int


def _article_date(fragment: str) -> date:
    """Publication date of a <PubmedArticle> fragment (missing parts count as the first)."""
    pub_date = ET.fromstring(fragment).find("MedlineCitation/Article/Journal/JournalIssue/PubDate")
    if pub_date is None or pub_date.findtext("Year") is None:
        return date(1900, 1, 1)
    month_text = pub_date.findtext("Month") or "1"
    month = _MONTHS.get(month_text[:3], int(month_text) if month_text.isdigit() else 1)
    return date(int(pub_date.findtext("Year") or 1900), month, int(pub_date.findtext("Day") or 1))


class EutilsTestServer:
    """Threaded HTTP server on 127.0.0.1 (random port); use as a context manager.

    ``articles_xml`` maps PMID -> ``<PubmedArticle>`` text. ``term_index`` maps a phrase to the
    PMIDs it finds (the longest phrase contained in the term wins; no phrase -> no hits);
    without it every term finds every article. ``fail_first_n_with`` lists HTTP statuses for
    the first requests, in order (e.g. ``[429, 503]``). ``valid_api_keys`` enables key checks.
    ``esearch_cap`` is the paging cap (PubMed: 10,000).
    """

    def __init__(
        self,
        articles_xml: Mapping[str, str] | None = None,
        term_index: Mapping[str, Sequence[str]] | None = None,
        fail_first_n_with: Sequence[int] = (),
        retry_after: float | None = None,
        valid_api_keys: set[str] | None = None,
        esearch_cap: int = 10000,
    ) -> None:
        self.articles_xml = dict(articles_xml or {})
        self.dates = {pmid: _article_date(text) for pmid, text in self.articles_xml.items()}
        self.term_index = {k: list(v) for k, v in (term_index or {}).items()} or None
        self.retry_after = retry_after
        self.valid_api_keys = valid_api_keys
        self.esearch_cap = esearch_cap
        self.request_log: list[RequestRecord] = []
        self._failures = deque(fail_first_n_with)
        self._corruptions: dict[str, deque[str]] = {}
        self._history: dict[tuple[str, str], list[str]] = {}
        self._webenv_counter = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/entrez/eutils/"

    def __enter__(self) -> EutilsTestServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- inspection and control ----------------------------------------------------------
    def expire_history(self) -> None:
        """Forget every WebEnv, as NCBI does after a while."""
        with self._lock:
            self._history.clear()

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._failures.extend(statuses)

    def corrupt_next(self, utility: str, *faults: str) -> None:
        """Spoil the next replies of ``utility`` ("esearch"/"efetch") that would succeed, in order.

        ``html``: status 200 with an HTML error page (as a proxy or maintenance page sends);
        ``truncate``: status 200 with only the first half of the reply, its length announced as
        such; ``drop``: the full length announced, half sent, then the connection closed;
        ``extra``: an EFetch reply with twice the records asked for.
        """
        unknown = set(faults) - CORRUPTIONS
        if unknown:
            raise ValueError(f"unknown corruptions {sorted(unknown)}; known: {sorted(CORRUPTIONS)}")
        with self._lock:
            self._corruptions.setdefault(utility, deque()).extend(faults)

    def _take_corruption(self, utility: str) -> str | None:
        with self._lock:
            pending = self._corruptions.get(utility)
            return pending.popleft() if pending else None

    def hits(self, term: str) -> list[str]:
        """PMIDs ``term`` finds, newest publication first (ties: higher PMID first)."""
        match = _DATE_CLAUSE.search(term)
        base = _DATE_CLAUSE.sub("", term)
        if self.term_index is None:
            found = list(self.articles_xml)
        else:
            phrases = [p for p in sorted(self.term_index, key=len, reverse=True) if p in base]
            found = (
                [p for p in self.term_index[phrases[0]] if p in self.articles_xml]
                if phrases
                else []
            )
        if match:
            low, high = (
                parse_date(match.group(1), upper=False),
                parse_date(match.group(2), upper=True),
            )
            found = [p for p in found if low <= self.dates[p] <= high]
        return sorted(found, key=lambda p: (self.dates[p], int(p)), reverse=True)

    def count(self, path_suffix: str) -> int:
        return sum(1 for r in self.request_log if r.path.endswith(path_suffix))

    # -- protocol ------------------------------------------------------------------------
    def _respond(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            headers = {"Content-Type": "application/json"}
            if self.retry_after is not None:
                headers["Retry-After"] = f"{self.retry_after:g}"
            body = {"error": "API rate limit exceeded" if failure == 429 else "server error"}
            return failure, headers, json.dumps(body).encode()
        key = params.get("api_key")
        if self.valid_api_keys is not None and key is not None and key not in self.valid_api_keys:
            # NCBI echoes the rejected key in its reply; the client must not repeat it.
            body = {
                "error": "API key invalid",
                "api-key": key,
                "type": "api-key",
                "status": "unknown",
            }
            return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
        if params.get("db") != "pubmed":
            return 400, {"Content-Type": "text/plain"}, b"only db=pubmed is served"
        if path.endswith("/esearch.fcgi"):
            return 200, {"Content-Type": "text/xml"}, self._esearch(params)
        if path.endswith("/efetch.fcgi"):
            return 200, {"Content-Type": "text/xml"}, self._efetch(params)
        return 404, {"Content-Type": "text/plain"}, b"unknown utility"

    def _reply(
        self, path: str, params: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        """The reply to send, the announced length and, for a spoiled reply, how it is spoiled."""
        utility = path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        status, headers, body = self._respond(path, params)
        corruption = self._take_corruption(utility) if status == 200 else None
        if corruption == "extra" and utility == "efetch":
            retmax = 2 * int(params.get("retmax", DEFAULT_RETMAX))
            body = self._efetch(dict(params, retmax=str(retmax)))
        elif corruption == "html":
            headers, body = {"Content-Type": "text/html"}, _HTML_PAGE
        elif corruption in ("truncate", "drop"):
            body = body[: len(body) // 2]
        return status, headers, body, corruption

    def _esearch(self, params: dict[str, str]) -> bytes:
        term = params.get("term", "")
        found = self.hits(term)
        if params.get("sort") == "relevance":
            found = sorted(found, key=int)
        retstart = int(params.get("retstart", 0))
        retmax = int(params.get("retmax", DEFAULT_RETMAX))
        if retstart + min(retmax, 1) > self.esearch_cap:
            message = f"Search Backend failed: cannot page past {self.esearch_cap} records"
            return (
                f"{_ESEARCH_HEADER}<eSearchResult><ERROR>{message}</ERROR></eSearchResult>".encode()
            )
        page = found[retstart : retstart + retmax]
        history = ""
        if params.get("usehistory") == "y":
            webenv = f"MCID_{next(self._webenv_counter):08d}"
            with self._lock:
                self._history[(webenv, "1")] = found
            history = f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>"
        ids = "".join(f"<Id>{p}</Id>" for p in page)
        return (
            f"{_ESEARCH_HEADER}<eSearchResult><Count>{len(found)}</Count><RetMax>{len(page)}</RetMax>"
            f"<RetStart>{retstart}</RetStart>{history}<IdList>{ids}</IdList>"
            f"<TranslationSet/><QueryTranslation>{term.replace('&', '&amp;').replace('<', '&lt;')}"
            "</QueryTranslation></eSearchResult>"
        ).encode()

    def _efetch(self, params: dict[str, str]) -> bytes:
        if "id" in params:
            chosen = [p.strip() for p in params["id"].split(",") if p.strip() in self.articles_xml]
        else:
            with self._lock:
                found = self._history.get((params.get("WebEnv", ""), params.get("query_key", "")))
            if found is None:
                return b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
            retstart = int(params.get("retstart", 0))
            retmax = int(params.get("retmax", DEFAULT_RETMAX))
            if retstart + 1 > self.esearch_cap:
                return b"<eFetchResult><ERROR>Cannot page past the cap</ERROR></eFetchResult>"
            chosen = found[retstart : retstart + retmax]
        return (XML_HEADER + "".join(self.articles_xml[p] for p in chosen) + XML_FOOTER).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                arrived = time.time()
                split = urlsplit(self.path)
                query = split.query
                if method == "POST":
                    length = int(self.headers.get("Content-Length", 0))
                    query = self.rfile.read(length).decode("utf-8")
                params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
                status, headers, body, corruption = server._reply(split.path, params)
                with server._lock:
                    server.request_log.append(
                        RequestRecord(arrived, method, split.path, params, status)
                    )
                # A dropped connection announces the whole reply but sends only part of it.
                announced = 2 * len(body) + 1 if corruption == "drop" else len(body)
                if corruption == "drop":
                    self.close_connection = True
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return  # keep test output quiet

        return Handler


def max_requests_in_window(times: Sequence[float], window_s: float = 1.0) -> int:
    """The largest number of request times falling in any half-open window of ``window_s``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best
