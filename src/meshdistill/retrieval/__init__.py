"""Context retrieval for generated questions: BM25 offline, PubMed relevance online."""

from meshdistill.retrieval.base import RetrievedDocument, Retriever
from meshdistill.retrieval.bm25 import BM25Parameters, BM25Retriever, corpus_fingerprint
from meshdistill.retrieval.pubmed import PubMedRetriever, RelevanceClient, plain_query

__all__ = [
    "BM25Parameters",
    "BM25Retriever",
    "PubMedRetriever",
    "RelevanceClient",
    "RetrievedDocument",
    "Retriever",
    "corpus_fingerprint",
    "plain_query",
]
