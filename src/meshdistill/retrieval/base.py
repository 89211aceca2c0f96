"""What every retriever returns and the one method the scoring stage calls."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import InputError


@dataclass(frozen=True)
class RetrievedDocument:
    """One context document for a question.

    ``rank`` is 1-based. ``score`` is the retriever's own relevance value: the BM25 score
    offline, ``1 / rank`` online (PubMed returns an order but no score).
    """

    pmid: str
    rank: int
    score: float
    mesh_uis: tuple[str, ...]
    title: str
    text: str

    def to_record(self) -> dict[str, Any]:
        """The ``retrieved_document`` object of ``schemas/common.schema.json``."""
        return {
            "pmid": self.pmid,
            "rank": self.rank,
            "score": self.score,
            "mesh_uis": list(self.mesh_uis),
        }

    def to_context(self) -> dict[str, str]:
        """The context entry of ``schemas/pair_record.schema.json``."""
        return {"pmid": self.pmid, "title": self.title, "text": self.text}


class Retriever(Protocol):
    def search(self, query: str, k: int, exclude_pmids: Collection[str]) -> list[RetrievedDocument]:
        """Return at most ``k`` documents, best first, none of them in ``exclude_pmids``."""
        ...


@runtime_checkable
class AnnotatedCorpus(Protocol):
    """An offline index that can list its documents' MeSH annotations, which is all that
    corpus-based information content needs, whichever kind of index holds them."""

    def corpus_annotations(self) -> Iterator[tuple[str, ...]]:
        """The MeSH UIs of every indexed document, one tuple per document, in PMID order."""
        ...

    def annotation_counts(self) -> AnnotationCounts:
        """How many documents carry each heading (what information content counts)."""
        ...


#: Every index folder describes itself in this file.
MANIFEST_NAME = "manifest.json"


def read_manifest(folder: Path, kind: str, rerun: str = "") -> tuple[Path, dict[str, Any]]:
    """The path and content of an index folder's manifest; :class:`InputError` names the folder
    (not a ``kind`` index folder) or the file (unreadable), and ``rerun`` (how to rebuild)."""
    hint = f"; {rerun}" if rerun else ""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise InputError(
            str(folder), f"not a {kind} index folder: {MANIFEST_NAME} is missing{hint}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(str(path), f"unreadable manifest: {error}{hint}") from error
    if not isinstance(manifest, dict):
        raise InputError(str(path), f"unreadable manifest: not a JSON object{hint}")
    return path, manifest
