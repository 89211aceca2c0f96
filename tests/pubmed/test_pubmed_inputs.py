"""Awkward corpus inputs: compression told by content, HTML saved as XML, duplicate PMIDs across
files (one rule everywhere), and descriptors that find no abstracts (the warning says why)."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from meshdistill.corpus import ingest_corpus
from meshdistill.errors import InputError
from meshdistill.mesh import DescriptorRecord, MeshTree
from meshdistill.pubmed.corpus import iter_corpus
from meshdistill.pubmed.records_io import write_jsonl
from meshdistill.pubmed.synthetic import ArticleSpec, PubDate, article_set_xml, article_xml
from meshdistill.records import AbstractSection, Article, MeshHeading
from meshdistill.retrieval import BM25Retriever
from meshdistill.stages import abstracts, index

UI, NAME = "D000001", "Glia Disease"
TREE = MeshTree.from_records([DescriptorRecord(UI, NAME, ("C01",))])
ORDER = {"order": "oldest", "seed": 0}
MEDLINE = "PMID- 7\nTI  - Seven.\nAB  - About glia.\nMH  - *Glia Disease\n"


def _article(pmid: str, title: str, major: bool = True) -> Article:
    return Article(
        pmid=pmid,
        title=title,
        abstract_sections=[AbstractSection(None, f"Abstract of {title}.")],
        mesh_headings=[MeshHeading(UI, NAME, major)],
    )


def _xml(*articles: tuple[str, str]) -> str:
    specs = [
        ArticleSpec(pmid, title, sections=[(None, "Text.")], headings=[(UI, NAME, True, [])])
        for pmid, title in articles
    ]
    return article_set_xml([article_xml(spec) for spec in specs])


@pytest.mark.parametrize(("name", "plain"), [("a.jsonl", None), ("m.txt", MEDLINE)])
def test_gzip_is_told_by_content_for_every_format(
    tmp_path: Path, name: str, plain: str | None
) -> None:
    source = tmp_path / f"plain-{name}"
    if plain is None:
        write_jsonl(source, [_article("7", "Seven")])
    else:
        source.write_text(plain, encoding="utf-8")
    disguised = tmp_path / name  # gzipped, but named like a plain file
    disguised.write_bytes(gzip.compress(source.read_bytes()))
    assert [a.pmid for a in iter_corpus([disguised], name_to_ui={NAME: UI}.get)] == ["7"]


@pytest.mark.parametrize(
    "page",
    [
        "<!DOCTYPE html>\n<html><head><title>Error</title></head><body><p>Not found<br></body>",
        "<html xmlns='http://www.w3.org/1999/xhtml'><body><p>Service down</p></body></html>",
        "<?xml version='1.0'?><eSearchResult><Count>0</Count></eSearchResult>",
    ],
)
def test_html_or_other_xml_named_xml_is_an_error_naming_the_file(tmp_path: Path, page: str) -> None:
    path = tmp_path / "pubmed25n0001.xml"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(iter_corpus([path]))
    assert "pubmed25n0001.xml" in str(info.value)
    assert "HTML" in str(info.value) or "root element" in str(info.value)


def _two_versions(tmp_path: Path) -> list[str]:
    baseline, update = tmp_path / "baseline.xml", tmp_path / "update.xml"
    baseline.write_text(_xml(("5", "Old title"), ("6", "Another study")), encoding="utf-8")
    update.write_text(_xml(("5", "Revised title")), encoding="utf-8")
    return [str(baseline), str(update)]


@pytest.mark.parametrize(
    ("order", "titles"),
    [
        ("oldest", ["Revised title", "Another study"]),
        ("newest", ["Another study", "Revised title"]),
    ],
)
def test_duplicate_pmids_newest_wins_in_abstracts_stage_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, order: str, titles: list[str]
) -> None:
    paths = _two_versions(tmp_path)
    logger = logging.getLogger("meshdistill.test.abstracts")
    settings = {"major_topic_only": True, "max_abstracts": 5, "order": order, "seed": 0}
    with caplog.at_level(logging.INFO, logger="meshdistill.test"):
        chosen = abstracts.from_local_corpus(paths, "auto", UI, settings, TREE, logger)
    assert [a.title for a in chosen] == titles
    assert "'duplicates_replaced': 1" in caplog.text


def test_duplicate_pmids_newest_wins_in_the_index_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _two_versions(tmp_path)
    logger = logging.getLogger("meshdistill.test.index")
    manifest = ingest_corpus(paths, tmp_path / "corpus")
    assert manifest.report["duplicates_replaced"] == 1
    with caplog.at_level(logging.INFO, logger="meshdistill.test"):
        index.run(table=str(tmp_path / "corpus"), output=str(tmp_path / "bm25"), logger=logger)
    (hit,) = BM25Retriever.load(tmp_path / "bm25").search("revised title", 1)
    assert hit.title == "Revised title"
    assert "indexed 2 documents" in caplog.text


def test_newest_version_decides_even_when_it_no_longer_matches(tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_jsonl(old, [_article("5", "Old", major=True)])
    write_jsonl(new, [_article("5", "New", major=False)])
    logger = logging.getLogger("meshdistill.test.abstracts")
    settings = {"major_topic_only": True, "max_abstracts": 5, **ORDER}
    chosen = abstracts.from_local_corpus([str(old), str(new)], "auto", UI, settings, TREE, logger)
    assert chosen == []


def test_no_major_topic_flags_warning_names_the_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "pubmedqa.jsonl"  # PubMedQA-style: headings without major-topic flags
    write_jsonl(corpus, [_article("1", "One", major=False), _article("2", "Two", major=False)])
    logger = logging.getLogger("meshdistill.test.abstracts")
    settings = {"major_topic_only": True, "max_abstracts": 5, **ORDER}
    with caplog.at_level(logging.WARNING, logger="meshdistill.test"):
        chosen = abstracts.from_local_corpus([str(corpus)], "auto", UI, settings, TREE, logger)
    assert chosen == []
    assert "abstracts.major_topic_only" in caplog.text
    assert "2 articles" in caplog.text and "no heading as a major topic" in caplog.text
    relaxed = dict(settings, major_topic_only=False)
    assert len(abstracts.from_local_corpus([str(corpus)], "auto", UI, relaxed, TREE, logger)) == 2


def test_descriptor_absent_from_corpus_warning_says_what_to_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "other.jsonl"
    other = _article("1", "One")
    other.mesh_headings = [MeshHeading("D999999", "Other", True)]
    write_jsonl(corpus, [other])
    logger = logging.getLogger("meshdistill.test.abstracts")
    with caplog.at_level(logging.WARNING, logger="meshdistill.test"):
        abstracts.from_local_corpus(
            [str(corpus)], "auto", UI, {"max_abstracts": 5, **ORDER}, TREE, logger, name=NAME
        )
    assert f"{UI} ({NAME})" in caplog.text and "abstracts.local.paths" in caplog.text


def test_revision_dates_decide_whatever_the_file_order(tmp_path: Path) -> None:
    def version(title: str, revised: PubDate) -> str:
        spec = ArticleSpec("5", title, [(None, "Text.")], [(UI, NAME, True, [])], revised=revised)
        return article_set_xml([article_xml(spec)])

    newer, older = tmp_path / "a-update.xml", tmp_path / "b-baseline.xml"
    newer.write_text(version("Revised title", PubDate(2024, 3, 1)), encoding="utf-8")
    older.write_text(version("Old title", PubDate(2019, 12, 31)), encoding="utf-8")
    medline = tmp_path / "c.txt"  # MEDLINE's LR field is the revision date
    medline.write_text("PMID- 5\nLR  - 20200101\nTI  - Medline title.\nAB  - Text.\n"
                       "MH  - *Glia Disease\n", encoding="utf-8")  # fmt: skip
    logger = logging.getLogger("meshdistill.test.abstracts")
    settings = {"major_topic_only": True, "max_abstracts": 5, **ORDER}
    # First-wins would keep the 2019 version, last-wins the 2020 one: the dates decide.
    paths = [str(older), str(newer), str(medline)]
    chosen = abstracts.from_local_corpus(paths, "auto", UI, settings, TREE, logger)
    assert [a.title for a in chosen] == ["Revised title"]


def test_descriptor_without_pubmed_hits_warning_names_the_query_settings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from meshdistill.testing.eutils_server import EutilsTestServer

    with EutilsTestServer({}, term_index={"something else": []}) as server:
        entrez = {"base_url": server.url, "cache_dir": str(tmp_path / "entrez")}
        settings = {"max_abstracts": 3, "major_topic_only": True, "entrez": entrez, **ORDER}
        logger = logging.getLogger("meshdistill.test.abstracts")
        with caplog.at_level(logging.WARNING, logger="meshdistill.test"):
            found = abstracts.from_entrez({"ui": UI, "name": NAME}, settings, logger)
    assert found == []
    assert f"{UI} ({NAME})" in caplog.text and "abstracts.entrez" in caplog.text
    assert "MeSH Major Topic" in caplog.text  # the query PubMed was sent
