"""What corpus-based information content needs from a corpus's MeSH annotations: how many
documents carry each heading, and how often each heading occurs (for counting the ones a
tree does not know). Counted once when an index is built, so a job reads a few thousand
numbers instead of walking every document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnnotationCounts:
    documents: int
    #: heading UI -> number of documents annotated with it (a document counts a heading once)
    documents_with: Mapping[str, int]
    #: heading UI -> number of times it occurs, repeats within a document included
    occurrences: Mapping[str, int]

    @classmethod
    def from_documents(cls, annotations: Iterable[Sequence[str]]) -> AnnotationCounts:
        documents = 0
        documents_with: Counter[str] = Counter()
        occurrences: Counter[str] = Counter()
        for uis in annotations:
            documents += 1
            occurrences.update(uis)
            documents_with.update(set(uis))
        return cls(documents, dict(documents_with), dict(occurrences))


def annotation_counts(
    annotations: Iterable[Sequence[str]] | AnnotationCounts,
) -> AnnotationCounts:
    """``annotations`` counted, unless they come counted already."""
    if isinstance(annotations, AnnotationCounts):
        return annotations
    return AnnotationCounts.from_documents(annotations)
