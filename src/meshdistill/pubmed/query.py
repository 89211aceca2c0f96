"""PubMed query terms, ESearch replies and publication-date ranges for splitting big queries."""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta

from meshdistill.content import looks_like_html
from meshdistill.pubmed.entrez_settings import EntrezSettings
from meshdistill.pubmed.transport import EntrezError

# ESearch ERROR texts that only mean "nothing matched" rather than a failed request.
_HARMLESS_ERRORS = ("phrase not found", "no items found")


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of publication dates."""

    start: date
    end: date

    def term(self) -> str:
        return f'("{_fmt(self.start)}"[dp] : "{_fmt(self.end)}"[dp])'

    def label(self) -> str:
        return f"{_fmt(self.start)}:{_fmt(self.end)}"

    @property
    def splittable(self) -> bool:
        return self.end > self.start

    def halves(self) -> tuple[DateRange, DateRange]:
        """(newer half, older half): newer first, as PubMed lists newest records first."""
        middle = self.start + timedelta(days=(self.end - self.start).days // 2)
        return DateRange(middle + timedelta(days=1), self.end), DateRange(self.start, middle)


def _fmt(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def parse_date(text: str, upper: bool) -> date:
    """Parse YYYY, YYYY/MM or YYYY/MM/DD; ``upper`` picks the last day of a year or month."""
    parts = [int(p) for p in text.split("/")]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if upper else 1)
    if len(parts) > 2:
        day = parts[2]
    else:
        day = calendar.monthrange(year, month)[1] if upper else 1
    return date(year, month, day)


def settings_date_range(settings: EntrezSettings) -> DateRange | None:
    """The configured date range, or None when neither bound is set."""
    if settings.date_from is None and settings.date_to is None:
        return None
    return full_date_range(settings)


def full_date_range(settings: EntrezSettings) -> DateRange:
    """The configured range with missing bounds filled from the split floor/ceiling."""
    start = parse_date(settings.date_from or settings.split_floor, upper=False)
    end = parse_date(settings.date_to or settings.split_ceiling, upper=True)
    return DateRange(start, end)


def _quoted_or(values: tuple[str, ...], field: str) -> str:
    return "(" + " OR ".join(f'"{v}"[{field}]' for v in values) + ")"


def build_term(name: str, ui: str | None, settings: EntrezSettings) -> str:
    """The ESearch term for one descriptor, without any date clause."""
    base = settings.query_template.format(name=name, ui=ui or "")
    clauses = [f"({base})"]
    if settings.languages:
        clauses.append(_quoted_or(settings.languages, "la"))
    if settings.publication_types:
        clauses.append(_quoted_or(settings.publication_types, "pt"))
    if settings.has_abstract:
        clauses.append("hasabstract")
    return " AND ".join(clauses)


def with_dates(term: str, dates: DateRange | None) -> str:
    return term if dates is None else f"{term} AND {dates.term()}"


@dataclass(frozen=True)
class SearchResult:
    count: int
    ids: list[str]
    webenv: str | None
    query_key: str | None


def parse_esearch(body: bytes, what: str) -> SearchResult:
    """Read an ESearch XML reply; raise EntrezError on a reported error, an HTML page, bad or
    truncated XML, another root element or a missing or non-numeric Count."""
    if looks_like_html(body):
        raise EntrezError(f"{what}: the reply is an HTML page, not ESearch XML")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise EntrezError(f"{what}: ESearch reply is not whole XML ({exc})") from None
    if root.tag != "eSearchResult":
        raise EntrezError(f"{what}: ESearch reply has root <{root.tag}>, not <eSearchResult>")
    errors = [e.text or "" for e in root.iter("ERROR")]
    count_text = root.findtext("Count")
    if errors and not all(any(h in e.lower() for h in _HARMLESS_ERRORS) for e in errors):
        raise EntrezError(f"{what}: ESearch reported: {'; '.join(errors)}")
    if count_text is None:
        if errors:
            return SearchResult(0, [], None, None)
        raise EntrezError(f"{what}: ESearch reply has no Count")
    if not count_text.strip().isdigit():
        raise EntrezError(f"{what}: ESearch reply has Count {count_text!r}, not a number")
    return SearchResult(
        count=int(count_text),
        ids=[(i.text or "").strip() for i in root.iterfind("IdList/Id") if i.text],
        webenv=root.findtext("WebEnv"),
        query_key=root.findtext("QueryKey"),
    )


def efetch_error(body: bytes) -> str | None:
    """The ERROR text of an EFetch reply that carries no articles (e.g. an expired WebEnv)."""
    head = body[:2000]
    if b"<ERROR>" not in head and b"<eFetchResult" not in head:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag == "PubmedArticleSet":
        return None
    message = root.findtext(".//ERROR")
    return message or f"unexpected reply <{root.tag}>"
