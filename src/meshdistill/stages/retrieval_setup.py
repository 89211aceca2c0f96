"""Open the configured retriever: an offline index (BM25, dense, or both fused) or PubMed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from meshdistill.pubmed.entrez import EntrezClient
from meshdistill.retrieval import (
    BM25Retriever,
    DenseRetriever,
    DenseSettings,
    HybridRetriever,
    HybridSettings,
    PubMedRetriever,
    Retriever,
    index_kinds,
)


@contextmanager
def open_retriever(
    retrieval: Mapping[str, Any],
    index_dirs: Sequence[str],
    entrez: Mapping[str, Any],
    logger: logging.Logger,
) -> Iterator[Retriever]:
    """The retriever of ``retrieval.method``, given the folders of the indexes it needs (in
    :func:`meshdistill.retrieval.index_kinds` order); closed on leaving the block, which in
    Qdrant's local mode lets the next job open the index."""
    method = retrieval["method"]
    kinds = index_kinds(method)
    if len(index_dirs) != len(kinds):
        raise ValueError(
            f"{method} retrieval needs the indexes {list(kinds)}, got folders {list(index_dirs)}"
        )
    if not kinds:
        yield PubMedRetriever(EntrezClient.from_config(entrez, os.environ, logger=logger))
        return
    with ExitStack() as stack:
        opened: list[Retriever] = []
        for kind, folder in zip(kinds, index_dirs, strict=True):
            if kind == "bm25":
                opened.append(BM25Retriever.load(folder))
            else:
                dense = DenseRetriever.open(
                    folder,
                    DenseSettings.from_mapping(retrieval["dense"]),
                    exact_search=bool(retrieval["dense"]["exact_search"]),
                )
                stack.callback(dense.close)
                logger.info("dense index %s: %d documents", folder, len(dense))
                opened.append(dense)
        if method == "hybrid":
            yield HybridRetriever(opened, HybridSettings.from_mapping(retrieval["hybrid"]))
        else:
            yield opened[0]
