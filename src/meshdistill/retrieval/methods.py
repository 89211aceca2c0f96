"""Which offline indexes each ``retrieval.method`` reads: one table for the workflow (which
index rules to run) and for the stages (which folders to open)."""

from __future__ import annotations

INDEX_KINDS: dict[str, tuple[str, ...]] = {
    "bm25": ("bm25",),
    "dense": ("dense",),
    "hybrid": ("bm25", "dense"),
    "pubmed": (),
}
# Methods that read the local corpus through the dense extra (sentence-transformers, Qdrant).
DENSE_METHODS = frozenset(method for method, kinds in INDEX_KINDS.items() if "dense" in kinds)


def index_kinds(method: str) -> tuple[str, ...]:
    """The index kinds ``method`` needs, in the order the stages receive their folders."""
    try:
        return INDEX_KINDS[method]
    except KeyError:
        raise ValueError(f"unknown retrieval method {method!r}") from None


def uses_local_corpus(method: str) -> bool:
    return bool(index_kinds(method))
