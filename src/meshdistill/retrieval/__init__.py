"""Context retrieval for generated questions: BM25 or dense (sentence embeddings in Qdrant)
offline, their fusion, or PubMed relevance online."""

from meshdistill.retrieval.base import AnnotatedCorpus, RetrievedDocument, Retriever
from meshdistill.retrieval.bm25 import (
    BM25Parameters,
    BM25Retriever,
    BuildSettings,
    corpus_fingerprint,
)
from meshdistill.retrieval.dense import DenseRetriever, DenseSettings
from meshdistill.retrieval.hybrid import HybridRetriever, HybridSettings
from meshdistill.retrieval.methods import index_kinds
from meshdistill.retrieval.pubmed import PubMedRetriever, RelevanceClient, plain_query

__all__ = [
    "AnnotatedCorpus",
    "BM25Parameters",
    "BM25Retriever",
    "BuildSettings",
    "DenseRetriever",
    "DenseSettings",
    "HybridRetriever",
    "HybridSettings",
    "PubMedRetriever",
    "RelevanceClient",
    "RetrievedDocument",
    "Retriever",
    "corpus_fingerprint",
    "index_kinds",
    "plain_query",
]
