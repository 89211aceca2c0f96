"""Online retrieval: PubMed's own relevance ranking for the question, then the hits' MeSH.

The Entrez client (``meshdistill.pubmed``) does the HTTP, rate limiting and caching; this
module only needs the two calls named in :class:`RelevanceClient`, so it can be tested with
a stub and imported when the client module is absent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Protocol

from meshdistill.records import Article
from meshdistill.retrieval.base import RetrievedDocument
from meshdistill.retrieval.tokens import tokenize

DEFAULT_EXTRA_HITS = 5  # head-room for hits without an abstract or MeSH headings
# Characters PubMed's query parser treats as syntax (field tags, grouping, phrases, wildcards).
_QUERY_SYNTAX = re.compile(r"[\[\]()\"*:?]")
_BOOLEAN_WORDS = re.compile(r"\b(AND|OR|NOT)\b")


class RelevanceClient(Protocol):
    def search_relevance(self, query: str, retmax: int) -> list[str]:
        """PMIDs in PubMed's relevance order (ESearch ``sort=relevance``)."""
        ...

    def fetch_pmids(self, pmids: Sequence[str]) -> list[Article]:
        """Articles with their MeSH headings (EFetch), in any order; unknown PMIDs omitted."""
        ...


def plain_query(question: str) -> str:
    """The question as free text for ESearch: syntax characters removed and upper-case
    Boolean words lower-cased, so PubMed's automatic term mapping sees only words."""
    text = _QUERY_SYNTAX.sub(" ", question)
    text = _BOOLEAN_WORDS.sub(lambda match: match.group(0).lower(), text)
    return " ".join(text.split())


def any_term_query(question: str) -> str:
    """Content words joined with OR: the fallback when the whole question (which ESearch
    combines with AND) matches too few articles."""
    terms = sorted(set(tokenize(question)))
    return " OR ".join(terms)


class PubMedRetriever:
    """Context documents from PubMed's relevance ranking for the question text.

    PubMed gives an order but no score, so ``score`` is ``1 / rank``. Hits without an
    abstract are skipped (they would give the answer writer nothing to read) unless
    ``require_abstract`` is false.
    """

    def __init__(
        self,
        client: RelevanceClient,
        *,
        extra_hits: int = DEFAULT_EXTRA_HITS,
        fallback_to_any_term: bool = True,
        require_abstract: bool = True,
    ) -> None:
        self._client = client
        self._extra_hits = extra_hits
        self._fallback_to_any_term = fallback_to_any_term
        self._require_abstract = require_abstract

    def search(
        self, query: str, k: int, exclude_pmids: Collection[str] = ()
    ) -> list[RetrievedDocument]:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        excluded = set(exclude_pmids)
        retmax = k + len(excluded) + self._extra_hits
        documents = self._ranked(plain_query(query), k, excluded, retmax)
        if len(documents) < k and self._fallback_to_any_term:
            fallback = any_term_query(query)
            if fallback:
                seen = {doc.pmid for doc in documents}
                more = self._ranked(fallback, k, excluded | seen, retmax)
                documents = documents + more[: k - len(documents)]
        return [
            RetrievedDocument(
                pmid=doc.pmid,
                rank=rank,
                score=round(1.0 / rank, 6),
                mesh_uis=doc.mesh_uis,
                title=doc.title,
                text=doc.text,
            )
            for rank, doc in enumerate(documents, start=1)
        ]

    def _ranked(
        self, query: str, k: int, excluded: set[str], retmax: int
    ) -> list[RetrievedDocument]:
        if not query:
            return []
        ranked = self._client.search_relevance(query, retmax)
        hits = [pmid for pmid in ranked if pmid not in excluded]
        if not hits:
            return []
        articles = {article.pmid: article for article in self._client.fetch_pmids(hits)}
        documents: list[RetrievedDocument] = []
        for pmid in hits:
            article = articles.get(pmid)
            if article is None or (self._require_abstract and not article.abstract.strip()):
                continue
            documents.append(
                RetrievedDocument(
                    pmid=pmid,
                    rank=len(documents) + 1,
                    score=0.0,
                    mesh_uis=tuple(article.heading_uis),
                    title=article.title,
                    text=article.abstract,
                )
            )
            if len(documents) == k:
                break
        return documents
