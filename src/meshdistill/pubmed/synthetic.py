"""Write PubMed XML in NLM's element layout, for tests, the local E-utilities server and benchmarks.

The layout follows real EFetch replies and baseline files (MedlineCitation with Article,
Journal/JournalIssue/PubDate, Abstract/AbstractText with Label, MeshHeadingList with
DescriptorName/QualifierName UI and MajorTopicYN, PubmedData), so parsers meet what they
will meet in production. Content is invented.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from meshdistill.records import Article

XML_HEADER = (
    '<?xml version="1.0" ?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    "<PubmedArticleSet>\n"
)
XML_FOOTER = "</PubmedArticleSet>\n"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PubDate:
    year: int
    month: int = 1
    day: int = 1


@dataclass
class ArticleSpec:
    """What to write for one article; sections are (label or None, text) pairs.

    ``headings`` entries are (descriptor UI, name, major, [(qualifier UI, name, major), ...]).
    """

    pmid: str
    title: str
    sections: Sequence[tuple[str | None, str]]
    headings: Sequence[tuple[str, str, bool, Sequence[tuple[str, str, bool]]]]
    date: PubDate = field(default_factory=lambda: PubDate(2020))
    journal: str = "Journal of Synthetic Medicine"
    publication_types: Sequence[tuple[str, str]] = (("D016428", "Journal Article"),)
    language: str = "eng"
    medline_date: str | None = None  # written instead of Year/Month/Day when set
    revised: PubDate | None = None  # DateRevised, when set


def _text(value: str) -> str:
    return escape(value)


def article_xml(spec: ArticleSpec) -> str:
    """One ``<PubmedArticle>`` element as text."""
    out: list[str] = []
    add = out.append
    add('<PubmedArticle>\n<MedlineCitation Status="MEDLINE" Owner="NLM">\n')
    add(f'<PMID Version="1">{_text(spec.pmid)}</PMID>\n')
    add("<DateCompleted><Year>2021</Year><Month>01</Month><Day>05</Day></DateCompleted>\n")
    if spec.revised is not None:
        r = spec.revised
        add(f"<DateRevised><Year>{r.year}</Year><Month>{r.month:02d}</Month>")
        add(f"<Day>{r.day:02d}</Day></DateRevised>\n")
    add('<Article PubModel="Print">\n<Journal>\n<ISSN IssnType="Electronic">1234-5678</ISSN>\n')
    add('<JournalIssue CitedMedium="Internet"><Volume>12</Volume><Issue>3</Issue><PubDate>')
    if spec.medline_date:
        add(f"<MedlineDate>{_text(spec.medline_date)}</MedlineDate>")
    else:
        d = spec.date
        add(f"<Year>{d.year}</Year><Month>{_MONTHS[d.month - 1]}</Month><Day>{d.day:02d}</Day>")
    add("</PubDate></JournalIssue>\n")
    add(f"<Title>{_text(spec.journal)}</Title>\n<ISOAbbreviation>J Synth Med</ISOAbbreviation>\n")
    add("</Journal>\n")
    add(f"<ArticleTitle>{_text(spec.title)}</ArticleTitle>\n")
    add("<Pagination><StartPage>101</StartPage><MedlinePgn>101-9</MedlinePgn></Pagination>\n")
    add(f'<ELocationID EIdType="doi" ValidYN="Y">10.0000/synth.{_text(spec.pmid)}</ELocationID>\n')
    if spec.sections:
        add("<Abstract>\n")
        for label, text in spec.sections:
            if label:
                add(
                    f"<AbstractText Label={quoteattr(label)} "
                    f'NlmCategory="{label.split()[0].upper()}">{_text(text)}</AbstractText>\n'
                )
            else:
                add(f"<AbstractText>{_text(text)}</AbstractText>\n")
        add("<CopyrightInformation>© 2020 The Authors.</CopyrightInformation>\n</Abstract>\n")
    add('<AuthorList CompleteYN="Y">\n<Author ValidYN="Y"><LastName>Doe</LastName>')
    add("<ForeName>Jane</ForeName><Initials>J</Initials><AffiliationInfo><Affiliation>")
    add("Department of Examples, Example University.</Affiliation></AffiliationInfo></Author>\n")
    add("</AuthorList>\n")
    add(f"<Language>{_text(spec.language)}</Language>\n<PublicationTypeList>\n")
    for pt_ui, pt_name in spec.publication_types:
        add(f'<PublicationType UI="{pt_ui}">{_text(pt_name)}</PublicationType>\n')
    add("</PublicationTypeList>\n</Article>\n")
    add("<MedlineJournalInfo><Country>England</Country><MedlineTA>J Synth Med</MedlineTA>")
    add("<NlmUniqueID>0000001</NlmUniqueID></MedlineJournalInfo>\n")
    add("<CitationSubset>IM</CitationSubset>\n")
    if spec.headings:
        add("<MeshHeadingList>\n")
        for ui, name, major, qualifiers in spec.headings:
            add(
                f'<MeshHeading><DescriptorName UI="{ui}" MajorTopicYN="{"Y" if major else "N"}">'
                f"{_text(name)}</DescriptorName>"
            )
            for q_ui, q_name, q_major in qualifiers:
                add(
                    f'<QualifierName UI="{q_ui}" MajorTopicYN="{"Y" if q_major else "N"}">'
                    f"{_text(q_name)}</QualifierName>"
                )
            add("</MeshHeading>\n")
        add("</MeshHeadingList>\n")
    add("</MedlineCitation>\n<PubmedData>\n<History>\n")
    add('<PubMedPubDate PubStatus="pubmed"><Year>2020</Year><Month>3</Month><Day>1</Day>')
    add("</PubMedPubDate>\n</History>\n<PublicationStatus>ppublish</PublicationStatus>\n")
    add(f'<ArticleIdList><ArticleId IdType="pubmed">{_text(spec.pmid)}</ArticleId>')
    add("</ArticleIdList>\n")
    add("</PubmedData>\n</PubmedArticle>\n")
    return "".join(out)


def article_set_xml(fragments: Iterable[str], deleted_pmids: Sequence[str] = ()) -> str:
    """A whole ``PubmedArticleSet`` document, optionally with a DeleteCitation block."""
    body = "".join(fragments)
    deleted = ""
    if deleted_pmids:
        ids = "".join(f'<PMID Version="1">{_text(p)}</PMID>' for p in deleted_pmids)
        deleted = f"<DeleteCitation>{ids}</DeleteCitation>\n"
    return XML_HEADER + body + deleted + XML_FOOTER


def spec_from_article(article: Article, date: PubDate | None = None) -> ArticleSpec:
    """The spec that writes ``article`` back out (qualifier UIs default to Q000000)."""
    return ArticleSpec(
        pmid=article.pmid,
        title=article.title,
        sections=[(s.label, s.text) for s in article.abstract_sections],
        headings=[
            (
                h.ui or "D000000",
                h.name,
                h.major_topic,
                [(q.ui or "Q000000", q.name, q.major_topic) for q in h.qualifiers],
            )
            for h in article.mesh_headings
        ],
        date=date or PubDate(article.year or 2020),
        journal=article.journal or "Journal of Synthetic Medicine",
        language=article.language or "eng",
    )


_WORDS = (
    "patients cells expression tumour therapy cohort protein signalling risk outcome "
    "mortality inflammation receptor gene variant trial randomised dose response clinical "
    "β-catenin naïve Müller analysis model mice significant increased reduced association"
).split()
_LABELS = ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")
_QUALIFIERS = (("Q000188", "drug therapy"), ("Q000235", "genetics"), ("Q000473", "pathology"))


def random_spec(
    pmid: int, rng: random.Random, descriptors: Sequence[tuple[str, str]]
) -> ArticleSpec:
    """A realistic-sized article: ~250-word abstract (mostly structured), 8-15 headings."""

    def sentence(words: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."

    if rng.random() < 0.6:
        sections: list[tuple[str | None, str]] = [
            (label, " ".join(sentence(rng.randint(10, 22)) for _ in range(3))) for label in _LABELS
        ]
    else:
        sections = [(None, " ".join(sentence(rng.randint(10, 22)) for _ in range(12)))]
    chosen = rng.sample(list(descriptors), k=min(len(descriptors), rng.randint(8, 15)))
    headings = []
    for ui, name in chosen:
        qualifiers = [
            (q_ui, q_name, rng.random() < 0.2)
            for q_ui, q_name in _QUALIFIERS
            if rng.random() < 0.25
        ]
        headings.append((ui, name, rng.random() < 0.2, qualifiers))
    return ArticleSpec(
        pmid=str(pmid),
        title=sentence(rng.randint(8, 16)),
        sections=sections,
        headings=headings,
        date=PubDate(rng.randint(1990, 2024), rng.randint(1, 12), rng.randint(1, 28)),
    )


def default_descriptors(count: int = 400) -> list[tuple[str, str]]:
    """Invented descriptor UIs and names in MeSH's UI format."""
    return [(f"D{index:06d}", f"Synthetic Descriptor {index}") for index in range(1, count + 1)]


def write_synthetic_xml(
    path: Path, articles: int, seed: int = 0, first_pmid: int = 10_000_000
) -> Path:
    """Write a PubMed XML file (gzipped when ``path`` ends in .gz) with ``articles`` records."""
    rng = random.Random(seed)
    descriptors = default_descriptors()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.write(XML_HEADER)
        for offset in range(articles):
            handle.write(article_xml(random_spec(first_pmid + offset, rng, descriptors)))
        handle.write(XML_FOOTER)
    return path
