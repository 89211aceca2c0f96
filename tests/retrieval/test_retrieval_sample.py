"""BM25 over the bundled sample corpus (data/corpus/sample_pubmed.xml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshdistill.records import Article
from meshdistill.retrieval import BM25Retriever

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "corpus" / "sample_pubmed.xml"


@pytest.fixture(scope="module")
def sample() -> list[Article]:
    if not SAMPLE.is_file():
        pytest.skip(f"sample corpus {SAMPLE} is absent")
    xml = pytest.importorskip("meshdistill.pubmed.xml", reason="PubMed reader not available")
    return [a for a in xml.iter_pubmed_xml(SAMPLE) if a.abstract]


def test_title_query_finds_its_article_unless_excluded(sample: list[Article]) -> None:
    retriever = BM25Retriever.build(sample)
    found_first = 0
    for article in sample:
        hits = retriever.search(article.title, k=4, exclude_pmids=())
        found_first += bool(hits) and hits[0].pmid == article.pmid
        excluded = retriever.search(article.title, k=4, exclude_pmids={article.pmid})
        assert article.pmid not in [h.pmid for h in excluded]
        assert len(excluded) <= 4
    # a title is the most specific query there is for its own article
    assert found_first >= 0.9 * len(sample)


def test_context_shares_mesh_headings_with_the_source(sample: list[Article]) -> None:
    """Retrieved neighbours of an abstract mostly share at least one heading with it: the
    premise of scoring questions by MeSH agreement of their context."""
    retriever = BM25Retriever.build(sample)
    sharing = 0
    for article in sample:
        hits = retriever.search(article.abstract, k=1, exclude_pmids={article.pmid})
        sharing += bool(hits) and bool(set(hits[0].mesh_uis) & set(article.heading_uis))
    assert sharing >= 0.5 * len(sample)
