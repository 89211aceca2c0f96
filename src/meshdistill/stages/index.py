"""Build the offline retrieval indexes once per corpus: BM25, and dense (sentence embeddings
in Qdrant)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.corpus import iter_documents
from meshdistill.pubmed.corpus import CorpusReport, iter_corpus, latest_versions
from meshdistill.records import Article
from meshdistill.retrieval import BuildSettings, DenseRetriever, DenseSettings
from meshdistill.retrieval.bm25_build import build_bm25_index


def _read_corpus(corpus: Sequence[str], corpus_format: str) -> tuple[list[Article], CorpusReport]:
    report = CorpusReport()
    # The same rule as the abstracts stage: the newest version of a PMID wins, and is counted.
    articles = latest_versions(iter_corpus(list(corpus), fmt=corpus_format, report=report), report)
    report.kept = len(articles)
    return articles, report


def run(
    *,
    table: str,
    output: str,
    logger: logging.Logger,
    build: Mapping[str, Any] | None = None,
) -> int:
    """Index the corpus table ``table`` (``articles.parquet`` of rule corpus, one row per PMID
    in PMID order) into ``output``; returns the number of documents."""
    settings = BuildSettings(**build) if build else BuildSettings()
    started = time.perf_counter()
    manifest = build_bm25_index(
        iter_documents(table, settings.batch_documents), output, settings=settings, logger=logger
    )
    logger.info(
        "indexed %d documents of %s in %.1f s",
        manifest["documents"],
        table,
        time.perf_counter() - started,
    )
    return int(manifest["documents"])


def run_dense(
    *,
    corpus: Sequence[str],
    corpus_format: str,
    dense: Mapping[str, Any],
    output: str,
    threads: int | None,
    logger: logging.Logger,
) -> int:
    articles, report = _read_corpus(corpus, corpus_format)
    settings = DenseSettings.from_mapping(dense)
    started = time.perf_counter()
    with DenseRetriever.build(
        articles, settings, output, threads=threads, logger=logger
    ) as retriever:
        size = len(retriever)
        logger.info(
            "dense index of %d documents from %s in collection %s (%.1f s): %s",
            size,
            ", ".join(corpus),
            retriever.collection,
            time.perf_counter() - started,
            report.to_dict(),
        )
    return size
