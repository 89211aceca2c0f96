# ruff: noqa: E501 - the XML fixture keeps the line layout of real PubMed files
"""PubMed XML parsing on hand-written records covering the cases real files contain."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from meshdistill.errors import InputError
from meshdistill.pubmed.synthetic import ArticleSpec, PubDate, article_set_xml, article_xml
from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.schemas import validate

STRUCTURED = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">31000001</PMID>
    <Article PubModel="Print-Electronic">
      <Journal>
        <JournalIssue CitedMedium="Internet">
          <PubDate><Year>2019</Year><Month>Apr</Month></PubDate>
        </JournalIssue>
        <Title>Revue médicale de Genève</Title>
        <ISOAbbreviation>Rev Med Gen</ISOAbbreviation>
      </Journal>
      <ArticleTitle>Effect of <i>β</i>-blockers on    Müller cells in
        naïve mice.</ArticleTitle>
      <Abstract>
        <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Müller glia respond to
          injury.</AbstractText>
        <AbstractText Label="METHODS" NlmCategory="METHODS">We gave 10 mg/kg of drug (p &lt; 0.05).</AbstractText>
        <AbstractText Label="RESULTS" NlmCategory="RESULTS">CO<sub>2</sub> rose by 5%.</AbstractText>
        <AbstractText Label="CONCLUSIONS" NlmCategory="CONCLUSIONS">It works.</AbstractText>
        <CopyrightInformation>© 2019 Elsevier.</CopyrightInformation>
      </Abstract>
      <Language>fre</Language>
      <Language>eng</Language>
      <PublicationTypeList>
        <PublicationType UI="D016428">Journal Article</PublicationType>
        <PublicationType UI="D013485">Research Support, Non-U.S. Gov't</PublicationType>
      </PublicationTypeList>
    </Article>
    <MeshHeadingList>
      <MeshHeading>
        <DescriptorName UI="D000319" MajorTopicYN="N">Adrenergic beta-Antagonists</DescriptorName>
        <QualifierName UI="Q000494" MajorTopicYN="Y">pharmacology</QualifierName>
        <QualifierName UI="Q000627" MajorTopicYN="N">therapeutic use</QualifierName>
      </MeshHeading>
      <MeshHeading>
        <DescriptorName UI="D051136" MajorTopicYN="Y">Ependymoglial Cells</DescriptorName>
      </MeshHeading>
      <MeshHeading>
        <DescriptorName UI="D051379" MajorTopicYN="N">Mice</DescriptorName>
      </MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
  <PubmedData><PublicationStatus>ppublish</PublicationStatus></PubmedData>
</PubmedArticle>
<PubmedArticle>
  <MedlineCitation Status="PubMed-not-MEDLINE" Owner="NLM">
    <PMID Version="1">31000002</PMID>
    <Article PubModel="Print">
      <Journal>
        <JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
        <Title>Letters Journal</Title>
      </Journal>
      <ArticleTitle>A letter without abstract.</ArticleTitle>
      <Language>eng</Language>
      <PublicationTypeList><PublicationType UI="D016422">Letter</PublicationType></PublicationTypeList>
    </Article>
    <MeshHeadingList>
      <MeshHeading><DescriptorName UI="D006801" MajorTopicYN="N">Humans</DescriptorName></MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
</PubmedArticle>
<PubmedBookArticle>
  <BookDocument><PMID Version="1">31000003</PMID><ArticleTitle>A book</ArticleTitle></BookDocument>
</PubmedBookArticle>
<PubmedArticle>
  <MedlineCitation Status="In-Data-Review" Owner="NLM">
    <PMID Version="1">31000004</PMID>
    <Article PubModel="Electronic">
      <Journal><JournalIssue><PubDate><Season>Spring</Season></PubDate></JournalIssue></Journal>
      <ArticleTitle></ArticleTitle>
      <VernacularTitle>Ein Titel auf Deutsch: Übersicht</VernacularTitle>
      <Abstract><AbstractText>Plain unlabelled abstract about 東京.</AbstractText></Abstract>
      <ArticleDate DateType="Electronic"><Year>2021</Year><Month>02</Month><Day>03</Day></ArticleDate>
      <Language>ger</Language>
    </Article>
    <MedlineJournalInfo><MedlineTA>Dtsch Med Wochenschr</MedlineTA></MedlineJournalInfo>
  </MedlineCitation>
</PubmedArticle>
<DeleteCitation><PMID Version="1">29999999</PMID></DeleteCitation>
</PubmedArticleSet>
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_structured_abstract_headings_and_metadata(tmp_path: Path) -> None:
    articles = list(iter_pubmed_xml(_write(tmp_path, "set.xml", STRUCTURED)))
    assert [a.pmid for a in articles] == ["31000001", "31000002", "31000004"]
    first = articles[0]
    assert first.title == "Effect of β-blockers on Müller cells in naïve mice."
    assert [(s.label, s.text) for s in first.abstract_sections] == [
        ("BACKGROUND", "Müller glia respond to injury."),
        ("METHODS", "We gave 10 mg/kg of drug (p < 0.05)."),
        ("RESULTS", "CO2 rose by 5%."),
        ("CONCLUSIONS", "It works."),
    ]
    assert first.abstract.startswith("BACKGROUND: Müller glia")
    assert "Elsevier" not in first.abstract
    assert first.year == 2019
    assert first.journal == "Revue médicale de Genève"
    assert first.language == "fre"
    assert first.publication_types == ["Journal Article", "Research Support, Non-U.S. Gov't"]
    beta, glia, mice = first.mesh_headings
    assert (beta.ui, beta.name, beta.major_topic) == (
        "D000319",
        "Adrenergic beta-Antagonists",
        False,
    )
    assert [(q.ui, q.name, q.major_topic) for q in beta.qualifiers] == [
        ("Q000494", "pharmacology", True),
        ("Q000627", "therapeutic use", False),
    ]
    assert beta.is_major and glia.major_topic and not mice.is_major
    assert first.major_topic_uis == ["D000319", "D051136"]
    validate(first.to_dict(), "article.schema.json", "first article")


def test_missing_abstract_missing_headings_and_fallbacks(tmp_path: Path) -> None:
    _, letter, german = list(iter_pubmed_xml(_write(tmp_path, "set.xml", STRUCTURED)))
    assert letter.abstract_sections == [] and letter.abstract == ""
    assert letter.year == 1998  # from MedlineDate
    assert german.mesh_headings == []
    assert german.title == "Ein Titel auf Deutsch: Übersicht"  # VernacularTitle fallback
    assert german.abstract == "Plain unlabelled abstract about 東京."
    assert german.abstract_sections[0].label is None
    assert german.year == 2021  # ArticleDate fallback when PubDate has no year
    assert german.journal == "Dtsch Med Wochenschr"


def test_gzip_by_suffix_and_by_magic_and_stream(tmp_path: Path) -> None:
    plain = [a.to_dict() for a in iter_pubmed_xml(_write(tmp_path, "a.xml", STRUCTURED))]
    gz = _write(tmp_path, "b.xml.gz", STRUCTURED)
    assert [a.to_dict() for a in iter_pubmed_xml(gz)] == plain
    disguised = tmp_path / "c.xml"
    disguised.write_bytes(gz.read_bytes())
    assert [a.to_dict() for a in iter_pubmed_xml(disguised)] == plain
    stream = io.BytesIO(gz.read_bytes())
    assert [a.to_dict() for a in iter_pubmed_xml(stream)] == plain


def test_malformed_xml_names_file_and_last_pmid(tmp_path: Path) -> None:
    broken = STRUCTURED.replace("</ArticleTitle>\n      <Language>eng", "</ArticleTitl>")
    path = _write(tmp_path, "broken.xml", broken)
    with pytest.raises(InputError) as info:
        list(iter_pubmed_xml(path))
    assert "broken.xml" in str(info.value)
    assert "31000001" in str(info.value)


def test_truncated_file_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "cut.xml", STRUCTURED[: len(STRUCTURED) // 2])
    with pytest.raises(InputError, match="cut.xml"):
        list(iter_pubmed_xml(path))


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.xml"):
        list(iter_pubmed_xml(tmp_path / "nope.xml"))


def test_round_trip_through_synthetic_writer() -> None:
    spec = ArticleSpec(
        pmid="42",
        title="Title with <angle> & ampersand",
        sections=[("OBJECTIVE", "Ob & ject."), (None, "Tail.")],
        headings=[("D000001", "Calcimycin", True, [("Q000031", "analogs & derivatives", True)])],
        date=PubDate(2001, 7, 9),
    )
    (article,) = iter_pubmed_xml(io.BytesIO(article_set_xml([article_xml(spec)]).encode()))
    assert article.title == "Title with <angle> & ampersand"
    assert article.abstract == "OBJECTIVE: Ob & ject.\nTail."
    assert article.mesh_headings[0].qualifiers[0].name == "analogs & derivatives"
    assert article.year == 2001
