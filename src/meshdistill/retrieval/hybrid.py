"""Hybrid retrieval: BM25 and dense rankings fused by reciprocal rank fusion (RRF).

RRF (Cormack, Clarke and Büttcher, SIGIR 2009) scores a document ``sum 1 / (rrf_k + rank)``
over the rankings that contain it. It needs no score calibration between BM25 (unbounded) and
cosine similarity, and a document both retrievers rank well beats one only a single retriever
likes. Each retriever contributes its top ``candidates``; ties go to the smaller PMID.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.retrieval.base import AnnotatedCorpus, RetrievedDocument, Retriever

SCORE_DECIMALS = 6  # as the other retrievers: RRF sums of reciprocals carry float noise


@dataclass(frozen=True)
class HybridSettings:
    """``retrieval.hybrid`` of the config (see schemas/config.schema.yaml)."""

    rrf_k: int
    candidates: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> HybridSettings:
        return cls(rrf_k=int(settings["rrf_k"]), candidates=int(settings["candidates"]))


class HybridRetriever:
    """Fuses the rankings of several retrievers over the same corpus (BM25 and dense)."""

    def __init__(self, retrievers: Sequence[Retriever], settings: HybridSettings) -> None:
        if not retrievers:
            raise ValueError("hybrid retrieval needs at least one retriever")
        self._retrievers = list(retrievers)
        self._settings = settings

    def search(
        self, query: str, k: int, exclude_pmids: Collection[str] = ()
    ) -> list[RetrievedDocument]:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        depth = max(k, self._settings.candidates)
        fused: dict[str, float] = {}
        first_seen: dict[str, RetrievedDocument] = {}
        for retriever in self._retrievers:
            for document in retriever.search(query, depth, exclude_pmids):
                contribution = 1.0 / (self._settings.rrf_k + document.rank)
                fused[document.pmid] = fused.get(document.pmid, 0.0) + contribution
                first_seen.setdefault(document.pmid, document)
        ranked = sorted(
            ((round(score, SCORE_DECIMALS), pmid) for pmid, score in fused.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )
        results = []
        for rank, (score, pmid) in enumerate(ranked[:k], start=1):
            document = first_seen[pmid]
            results.append(
                RetrievedDocument(
                    pmid=pmid,
                    rank=rank,
                    score=score,
                    mesh_uis=document.mesh_uis,
                    title=document.title,
                    text=document.text,
                )
            )
        return results

    def corpus_annotations(self) -> Iterator[tuple[str, ...]]:
        """The annotations of the first retriever that can list them (all index one corpus)."""
        for retriever in self._retrievers:
            if isinstance(retriever, AnnotatedCorpus):
                return retriever.corpus_annotations()
        raise TypeError("none of the fused retrievers holds a local corpus")

    def annotation_counts(self) -> AnnotationCounts:
        """The counts of the first retriever that has them (all index one corpus)."""
        for retriever in self._retrievers:
            if isinstance(retriever, AnnotatedCorpus):
                return retriever.annotation_counts()
        raise TypeError("none of the fused retrievers holds a local corpus")
