"""Which ingested corpus table the BM25 index is built from."""

from __future__ import annotations

from typing import Any

from meshdistill.corpus.layout import (
    DEFAULT_CORPUS,
    RETRIEVAL_CORPUS,
    corpus_local_settings,
    retrieval_corpus_name,
)


def config(method: str, retrieval_files: list[str], source: str = "local") -> dict[str, Any]:
    return {
        "abstracts": {"source": source, "local": {"paths": ["a.xml"], "format": "auto"}},
        "retrieval": {"method": method, "corpus": retrieval_files, "corpus_format": "auto"},
    }


def test_retrieval_shares_the_abstracts_table_when_it_names_the_same_files() -> None:
    assert retrieval_corpus_name(config("bm25", ["a.xml"])) == DEFAULT_CORPUS
    assert retrieval_corpus_name(config("hybrid", ["a.xml"])) == DEFAULT_CORPUS


def test_other_files_or_entrez_abstracts_get_a_retrieval_table() -> None:
    other = config("bm25", ["b.xml", "c.xml"])
    assert retrieval_corpus_name(other) == RETRIEVAL_CORPUS
    assert corpus_local_settings(other, RETRIEVAL_CORPUS) == {
        "paths": ["b.xml", "c.xml"],
        "format": "auto",
    }
    assert retrieval_corpus_name(config("bm25", ["a.xml"], source="entrez")) == RETRIEVAL_CORPUS


def test_pubmed_search_needs_no_table() -> None:
    assert retrieval_corpus_name(config("pubmed", [])) is None
