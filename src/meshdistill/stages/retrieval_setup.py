"""Open the configured retriever (offline BM25 index or PubMed relevance search)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from meshdistill.pubmed.entrez import EntrezClient
from meshdistill.retrieval import BM25Retriever, PubMedRetriever, Retriever


def open_retriever(
    retrieval: Mapping[str, Any],
    index_dir: str | None,
    entrez: Mapping[str, Any],
    logger: logging.Logger,
) -> Retriever:
    if retrieval["method"] == "bm25":
        if not index_dir:
            raise ValueError("bm25 retrieval needs the index built by rule retrieval_index")
        return BM25Retriever.load(index_dir)
    return PubMedRetriever(EntrezClient.from_config(entrez, os.environ, logger=logger))
