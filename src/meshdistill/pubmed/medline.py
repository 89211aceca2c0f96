"""Read MEDLINE/PubMed text format (``.txt``, ``.medline``, ``.nbib``) with ``Bio.Medline``.

MEDLINE text names MeSH headings but carries no UIs, so headings come back with ``ui=None``;
``meshdistill.pubmed.corpus`` maps the names to UIs through the MeSH layer. A starred
descriptor or qualifier (``*Neoplasms/drug therapy/*genetics``) is a major topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from Bio import Medline

from meshdistill.content import open_text
from meshdistill.errors import InputError
from meshdistill.records import AbstractSection, Article, MeshHeading, Qualifier

# A structured-abstract label: upper-case words (with digits, spaces and a few joining marks)
# then ": ". Only recognised at the start of the text or after a sentence end, which keeps
# acronyms followed by a colon in mid-sentence ("in COPD: a trial") from being split off.
_LABEL = re.compile(r"(?:^|(?<=[.?!] ))([A-Z][A-Z0-9]*(?:[ /,&-]+[A-Z0-9]+)*): ")
_YEAR = re.compile(r"\b(\d{4})\b")
_STAR = "*"


def split_labelled_abstract(text: str) -> list[AbstractSection]:
    """Split 'BACKGROUND: ... METHODS: ...' into labelled sections.

    Text that does not start with a label is one unlabelled section.
    """
    text = " ".join(text.split())
    if not text:
        return []
    matches = list(_LABEL.finditer(text))
    if not matches or matches[0].start() != 0:
        return [AbstractSection(None, text)]
    sections = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        if body:
            sections.append(AbstractSection(match.group(1), body))
    return sections


def parse_heading(value: str) -> MeshHeading:
    """Parse one MH line value such as ``*Neoplasms/drug therapy/*genetics``."""
    descriptor, *qualifier_parts = (part.strip() for part in value.split("/"))
    qualifiers = tuple(
        Qualifier(ui=None, name=q.lstrip(_STAR).strip(), major_topic=q.startswith(_STAR))
        for q in qualifier_parts
        if q.lstrip(_STAR).strip()
    )
    return MeshHeading(
        ui=None,
        name=descriptor.lstrip(_STAR).strip(),
        major_topic=descriptor.startswith(_STAR),
        qualifiers=qualifiers,
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _as_text(value: Any) -> str:
    return " ".join(" ".join(_as_list(value)).split())


def _revision_date(text: str) -> str | None:
    """The LR field (last revision, YYYYMMDD), or None when absent or malformed."""
    digits = text.strip()[:8]
    return digits if len(digits) == 8 and digits.isdigit() else None


def record_to_article(record: dict[str, Any], split_labels: bool = True) -> Article | None:
    """Convert one ``Bio.Medline`` record; returns None for a record without a PMID."""
    pmid = _as_text(record.get("PMID"))
    if not pmid:
        return None
    abstract = _as_text(record.get("AB"))
    sections = (
        split_labelled_abstract(abstract)
        if split_labels
        else ([AbstractSection(None, abstract)] if abstract else [])
    )
    year_match = _YEAR.search(_as_text(record.get("DP")))
    languages = _as_list(record.get("LA"))
    return Article(
        pmid=pmid,
        title=_as_text(record.get("TI")),
        abstract_sections=sections,
        mesh_headings=[parse_heading(h) for h in _as_list(record.get("MH")) if h.strip()],
        year=int(year_match.group(1)) if year_match else None,
        journal=_as_text(record.get("JT")) or _as_text(record.get("TA")) or None,
        publication_types=_as_list(record.get("PT")),
        language=languages[0] if languages else None,
        revised=_revision_date(_as_text(record.get("LR"))),
    )


def iter_medline(source: str | Path | TextIO, split_labels: bool = True) -> Iterator[Article]:
    """Yield articles from a MEDLINE text file (plain or gzipped, told by content) or text stream,
    in order.

    A record without a PMID raises :class:`InputError` naming the file and its position.
    """
    with ExitStack() as closer:
        if isinstance(source, str | Path):
            path = Path(source)
            name = str(path)
            handle: TextIO = open_text(path, closer, encoding="utf-8-sig")
        else:
            handle = source
            name = str(getattr(source, "name", "<stream>"))
        index = 0
        try:
            for index, record in enumerate(Medline.parse(handle), start=1):
                article = record_to_article(record, split_labels=split_labels)
                if article is None:
                    raise InputError(name, "MEDLINE record without PMID", record=f"#{index}")
                yield article
        except UnicodeDecodeError as exc:
            raise InputError(name, f"not UTF-8 text: {exc}", record=f"#{index + 1}") from None
        except (OSError, EOFError) as exc:  # e.g. a gzip stream cut short
            raise InputError(name, f"cannot read: {exc}", record=f"#{index + 1}") from None
