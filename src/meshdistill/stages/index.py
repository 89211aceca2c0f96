"""Build the offline retrieval index once per corpus."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from meshdistill.pubmed.corpus import CorpusReport, iter_corpus, latest_versions
from meshdistill.retrieval import BM25Retriever


def run(
    *,
    corpus: Sequence[str],
    corpus_format: str,
    output: str,
    logger: logging.Logger,
) -> int:
    report = CorpusReport()
    # The same rule as the abstracts stage: the newest version of a PMID wins, and is counted.
    articles = latest_versions(iter_corpus(list(corpus), fmt=corpus_format, report=report), report)
    report.kept = len(articles)
    retriever = BM25Retriever.build(articles)
    retriever.save(output)
    logger.info(
        "indexed %d documents from %s: %s", len(retriever), ", ".join(corpus), report.to_dict()
    )
    return len(retriever)
