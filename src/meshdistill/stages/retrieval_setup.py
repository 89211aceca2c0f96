"""Open the configured retriever (offline BM25 index or PubMed relevance search)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshdistill.pubmed.entrez import EntrezClient, EntrezSettings
from meshdistill.retrieval import BM25Retriever, PubMedRetriever, Retriever


def entrez_client(entrez: Mapping[str, Any], logger: logging.Logger) -> EntrezClient:
    cfg = dict(entrez)
    cache_dir = Path(cfg.get("cache_dir") or "cache/entrez")
    cfg.setdefault("throttle_path", str(cache_dir / "throttle.json"))
    return EntrezClient(EntrezSettings.from_config(cfg, os.environ), logger=logger)


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
    return PubMedRetriever(entrez_client(entrez, logger))
