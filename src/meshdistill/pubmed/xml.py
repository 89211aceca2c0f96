"""Stream PubMed XML (EFetch replies and NLM baseline/update files) into :class:`Article` records.

Parsing is event driven (``ElementTree.iterparse``, expat underneath): each ``PubmedArticle``
becomes a record as soon as its end tag arrives and is then dropped from the tree, so memory
stays flat however large the file is.
``DeleteCitation`` blocks (update files) and ``PubmedBookArticle`` entries are ignored: the
former carry no article, the latter have no journal article or MeSH indexing to use.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from meshdistill.content import gunzip_if_compressed, looks_like_html, open_binary, peek_head
from meshdistill.errors import InputError
from meshdistill.records import AbstractSection, Article, MeshHeading, Qualifier

#: The root element of EFetch replies and of NLM's baseline and update files.
ROOT_ELEMENT = "PubmedArticleSet"
_YEAR_IN_TEXT = re.compile(r"\b(\d{4})\b")


def _clean(text: str) -> str:
    # PubMed text often wraps lines inside elements; collapse runs of whitespace so the same
    # article gives the same string whichever file layout it came from.
    return " ".join(text.split())


def _text_of(element: ET.Element | None) -> str:
    """All text inside ``element`` including inline markup such as <i>, <sup> or MathML."""
    if element is None:
        return ""
    if len(element) == 0:  # the common case: no markup, skip the itertext walk
        return _clean(element.text or "")
    return _clean("".join(element.itertext()))


def _year_from(date: ET.Element | None) -> int | None:
    if date is None:
        return None
    year = date.findtext("Year")
    if year and year.strip().isdigit():
        return int(year.strip())
    medline_date = date.findtext("MedlineDate")
    if medline_date:
        match = _YEAR_IN_TEXT.search(medline_date)
        if match:
            return int(match.group(1))
    return None


def _abstract_sections(abstract: ET.Element | None) -> list[AbstractSection]:
    sections: list[AbstractSection] = []
    if abstract is None:
        return sections
    for node in abstract:
        if node.tag != "AbstractText":
            continue  # CopyrightInformation is not abstract text
        text = _text_of(node)
        if text:
            sections.append(AbstractSection(node.get("Label") or None, text))
    return sections


def _mesh_headings(heading_list: ET.Element | None) -> list[MeshHeading]:
    headings: list[MeshHeading] = []
    if heading_list is None:
        return headings
    # Direct child loops rather than find()/iterfind(): ElementPath costs a Python-level
    # path evaluation per call, and headings are the bulk of every record.
    for heading in heading_list:
        descriptor: ET.Element | None = None
        qualifiers: list[Qualifier] = []
        for part in heading:
            if part.tag == "DescriptorName":
                descriptor = part
            elif part.tag == "QualifierName":
                qualifiers.append(
                    Qualifier(
                        ui=part.get("UI") or None,
                        name=_text_of(part),
                        major_topic=part.get("MajorTopicYN") == "Y",
                    )
                )
        if descriptor is None:
            continue
        headings.append(
            MeshHeading(
                ui=descriptor.get("UI") or None,
                name=_text_of(descriptor),
                major_topic=descriptor.get("MajorTopicYN") == "Y",
                qualifiers=tuple(qualifiers),
            )
        )
    return headings


def _revision_date(date: ET.Element | None) -> str | None:
    """DateRevised as YYYYMMDD, or None when absent or incomplete."""
    if date is None:
        return None
    parts = [(date.findtext(tag) or "").strip() for tag in ("Year", "Month", "Day")]
    if not all(part.isdigit() for part in parts):
        return None
    year, month, day = parts
    return f"{year:0>4}{month:0>2}{day:0>2}"


def _children_by_tag(element: ET.Element, wanted: frozenset[str]) -> dict[str, ET.Element]:
    """First child for each wanted tag, in one pass over the children."""
    found: dict[str, ET.Element] = {}
    for child in element:
        if child.tag in wanted and child.tag not in found:
            found[child.tag] = child
    return found


_CITATION_PARTS = frozenset(
    {"PMID", "DateRevised", "Article", "MeshHeadingList", "MedlineJournalInfo"}
)
_ARTICLE_PARTS = frozenset(
    {
        "Journal",
        "ArticleTitle",
        "VernacularTitle",
        "Abstract",
        "Language",
        "PublicationTypeList",
        "ArticleDate",
    }
)


def parse_pubmed_article(element: ET.Element, source: str = "<xml>") -> Article:
    """Build an :class:`Article` from one ``PubmedArticle`` element.

    Raises :class:`InputError` naming ``source`` when the element has no PMID.
    """
    citation = element.find("MedlineCitation")
    if citation is None:
        raise InputError(source, "PubmedArticle without MedlineCitation")
    parts = _children_by_tag(citation, _CITATION_PARTS)
    pmid_node = parts.get("PMID")
    pmid = (pmid_node.text or "").strip() if pmid_node is not None else ""
    if not pmid:
        raise InputError(source, "PubmedArticle without PMID")
    article = parts.get("Article")
    if article is None:
        raise InputError(source, "MedlineCitation without Article", record=pmid)
    fields = _children_by_tag(article, _ARTICLE_PARTS)

    journal = fields.get("Journal")
    year = _year_from(journal.find("JournalIssue/PubDate")) if journal is not None else None
    if year is None:
        year = _year_from(fields.get("ArticleDate"))
    journal_title = ""
    if journal is not None:
        journal_title = _text_of(journal.find("Title")) or _text_of(journal.find("ISOAbbreviation"))
    if not journal_title and parts.get("MedlineJournalInfo") is not None:
        journal_title = _text_of(parts["MedlineJournalInfo"].find("MedlineTA"))

    language = _text_of(fields.get("Language"))
    type_list = fields.get("PublicationTypeList")
    return Article(
        pmid=pmid,
        title=_text_of(fields.get("ArticleTitle")) or _text_of(fields.get("VernacularTitle")),
        abstract_sections=_abstract_sections(fields.get("Abstract")),
        mesh_headings=_mesh_headings(parts.get("MeshHeadingList")),
        year=year,
        journal=journal_title or None,
        publication_types=[_text_of(pt) for pt in type_list] if type_list is not None else [],
        language=language or None,
        revised=_revision_date(parts.get("DateRevised")),
    )


def _open_binary(source: str | Path | BinaryIO, closer: ExitStack) -> tuple[BinaryIO, str]:
    """Return (decompressed stream, display name); files we open are registered on ``closer``."""
    if isinstance(source, str | Path):
        return open_binary(Path(source), closer), str(source)
    name = str(getattr(source, "name", "<stream>"))
    return gunzip_if_compressed(source, closer), name


def iter_pubmed_xml(source: str | Path | BinaryIO) -> Iterator[Article]:
    """Yield every journal article in a PubMed XML file or stream, in file order.

    ``source`` may be a path (plain, or gzipped: detected by the gzip magic bytes, whatever the
    name) or a binary stream. Records are yielded as parsed, whether or not they have an
    abstract or MeSH headings; filtering is the caller's job (see ``meshdistill.pubmed.corpus``).
    Malformed XML raises :class:`InputError` naming the file, the position and the last good PMID;
    so does an HTML page or XML with another root element than ``PubmedArticleSet``.
    """
    with ExitStack() as closer:
        stream, name = _open_binary(source, closer)
        try:
            head = peek_head(stream)
        except (OSError, EOFError) as exc:
            raise InputError(name, f"cannot read: {exc}") from None
        if looks_like_html(head):
            raise InputError(
                name,
                "is an HTML page, not PubMed XML (an error page saved in place of a download?); "
                "download the file again",
            )
        yield from _iter_events(stream, name)


def _iter_events(stream: BinaryIO, name: str) -> Iterator[Article]:
    last_pmid: str | None = None
    root: ET.Element | None = None
    try:
        for event, element in ET.iterparse(stream, events=("start", "end")):
            if root is None:
                root = element
                if root.tag != ROOT_ELEMENT:
                    problem = f"is not PubMed XML: its root element is <{root.tag}>"
                    raise InputError(name, f"{problem}, not <{ROOT_ELEMENT}>")
                continue
            if event != "end" or element.tag != "PubmedArticle":
                continue
            article = parse_pubmed_article(element, source=name)
            last_pmid = article.pmid
            # Drop finished articles from the tree so memory does not grow with the file.
            root.clear()
            yield article
    except ET.ParseError as exc:
        after = f" (after PMID {last_pmid})" if last_pmid else ""
        raise InputError(name, f"malformed XML{after}: {exc}") from None
    except (OSError, EOFError) as exc:
        raise InputError(name, f"cannot read: {exc}") from None
