"""Local corpora: format detection, skip counting, name->UI mapping, JSONL/Parquet round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshdistill.errors import ConfigError, InputError
from meshdistill.pubmed.corpus import CorpusReport, detect_format, iter_corpus, load_corpus
from meshdistill.pubmed.records_io import iter_parquet, write_jsonl, write_parquet
from meshdistill.pubmed.synthetic import ArticleSpec, PubDate, article_set_xml, article_xml
from meshdistill.records import AbstractSection, Article, MeshHeading, Qualifier
from meshdistill.schemas import validate

NAMES = {"Humans": "D006801", "T-Lymphocytes": "D013601", "beta Catenin": "D051176"}

MEDLINE = """\
PMID- 1
TI  - One.
AB  - Has abstract.
MH  - Humans
MH  - *Unknown Heading Name/genetics

PMID- 2
TI  - Two.
AB  - Only unmapped headings.
MH  - Unknown Heading Name

PMID- 3
TI  - Three.
MH  - Humans
"""


def _article(pmid: str, abstract: str = "Text.", ui: str | None = "D006801") -> Article:
    return Article(
        pmid=pmid,
        title=f"Title {pmid}",
        abstract_sections=[AbstractSection("AIM", abstract)] if abstract else [],
        mesh_headings=[MeshHeading(ui, "Humans", True, (Qualifier("Q000235", "genetics"),))],
        year=2020,
        journal="J",
        publication_types=["Journal Article"],
        language="eng",
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.xml", "pubmed_xml"),
        ("pubmed25n0001.xml.gz", "pubmed_xml"),
        ("a.TXT", "medline"),
        ("x.nbib", "medline"),
        ("x.medline", "medline"),
        ("r.jsonl", "jsonl"),
        ("r.jsonl.gz", "jsonl"),
        ("r.parquet", "parquet"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_unknown_suffix_and_format_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="data.csv"):
        list(iter_corpus([tmp_path / "data.csv"]))
    with pytest.raises(ConfigError, match="corpus format"):
        list(iter_corpus([tmp_path / "a.xml"], fmt="csv"))


def test_medline_names_mapped_unmapped_counted_and_skips(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_text(MEDLINE, encoding="utf-8")
    report = CorpusReport()
    kept = list(iter_corpus([path], name_to_ui=NAMES.get, report=report))
    assert [a.pmid for a in kept] == ["1"]
    assert [h.ui for h in kept[0].mesh_headings] == ["D006801"]
    assert report.read == 3 and report.kept == 1
    assert report.skipped_no_mesh == 1 and report.skipped_no_abstract == 1
    assert report.unmapped_names == {"Unknown Heading Name": 2}
    summary = report.to_dict()
    assert summary["unmapped_heading_names"] == {"Unknown Heading Name": 2}
    assert summary["mapped_headings"] == 1  # record 3 is skipped (no abstract) before mapping
    json.dumps(summary)


def test_without_mapper_name_only_headings_are_unmapped(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_text(MEDLINE, encoding="utf-8")
    articles, report = load_corpus([path])
    assert articles == [] and report.skipped_no_mesh == 2
    assert report.unmapped_names["Humans"] == 1


def test_jsonl_and_parquet_round_trip_and_mixed_corpus(tmp_path: Path) -> None:
    records = [_article("10"), _article("11", abstract=""), _article("12", ui=None)]
    jsonl = tmp_path / "r.jsonl"
    parquet = tmp_path / "r.parquet"
    assert write_jsonl(jsonl, records) == 3
    assert write_parquet(parquet, records) == 3
    assert [a.to_dict() for a in iter_parquet(parquet)] == [a.to_dict() for a in records]
    xml = tmp_path / "x.xml"
    spec = ArticleSpec("20", "T", [(None, "Abstract.")], [("D000001", "Calcimycin", False, [])])
    xml.write_text(article_set_xml([article_xml(spec)]), encoding="utf-8")
    articles, report = load_corpus([jsonl, parquet, xml], name_to_ui=NAMES.get)
    # 10 and 12 appear twice (JSONL then Parquet): the later copy replaces the earlier.
    assert [a.pmid for a in articles] == ["10", "12", "20"]
    assert report.duplicates_replaced == 2 and report.skipped_no_abstract == 2
    assert report.read == 7 and report.kept == 3
    for article in articles:
        validate(article.to_dict(), "article.schema.json", f"pmid {article.pmid}")


def test_jsonl_output_is_deterministic(tmp_path: Path) -> None:
    records = [_article("1"), _article("2")]
    write_jsonl(tmp_path / "a.jsonl.gz", records)
    write_jsonl(tmp_path / "b.jsonl.gz", records)
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    line = tmp_path / "c.jsonl"
    write_jsonl(line, records[:1])
    assert list(json.loads(line.read_text()).keys()) == sorted(records[0].to_dict())


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"pmid": "1", "title": "x"}\n{not json\n', "line 2"),
        ('\n["a list"]\n', "line 2"),
        ('{"title": "no pmid"}\n', "line 1"),
        ('{"pmid": "1", "mesh_headings": [{"qualifiers": 5}]}\n', "line 1"),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(iter_corpus([path]))
    assert "bad.jsonl" in str(info.value) and where in str(info.value)


def test_year_given_as_pubdate_in_xml_corpus(tmp_path: Path) -> None:
    spec = ArticleSpec(
        "30", "T", [(None, "A.")], [("D000001", "Calcimycin", False, [])], date=PubDate(1999, 2, 3)
    )
    path = tmp_path / "y.xml"
    path.write_text(article_set_xml([article_xml(spec)], deleted_pmids=["5"]), encoding="utf-8")
    (article,) = iter_corpus([path])
    assert article.year == 1999
