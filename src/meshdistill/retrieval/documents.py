"""The documents every offline index holds, and the digest that identifies an index's content.

BM25 and dense indexes index the same thing (one document per PMID: title, abstract, MeSH
headings), so de-duplication, the text that is indexed and the content digest live here once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.records import Article


@dataclass(frozen=True)
class IndexedDocument:
    pmid: str
    title: str
    abstract: str
    mesh_uis: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pmid": self.pmid,
            "title": self.title,
            "abstract": self.abstract,
            "mesh_uis": list(self.mesh_uis),
        }

    @property
    def text(self) -> str:
        """What a retriever matches a question against: the title, then the abstract."""
        return f"{self.title}\n{self.abstract}"

    @classmethod
    def from_article(cls, article: Article) -> IndexedDocument:
        return cls(article.pmid, article.title, article.abstract, tuple(article.heading_uis))


def unique_documents(articles: Sequence[Article]) -> list[IndexedDocument]:
    """One document per PMID, in PMID (string) order."""
    # PubMed update files re-issue revised records under the same PMID; the later one wins.
    by_pmid: dict[str, IndexedDocument] = {}
    for article in articles:
        by_pmid[article.pmid] = IndexedDocument.from_article(article)
    return [by_pmid[pmid] for pmid in sorted(by_pmid)]


class ContentDigest:
    """sha256 of an index's settings (``header``) and its documents, fed one at a time in
    PMID order: equal digests mean equal indexes, so a saved index can be checked without
    rebuilding it, and a streaming build computes it on the way."""

    def __init__(self, header: Mapping[str, Any]) -> None:
        self._digest = hashlib.sha256()
        self._digest.update(json.dumps(dict(header), sort_keys=True).encode("utf-8"))

    def update(self, document: IndexedDocument) -> None:
        line = json.dumps(document.to_dict(), sort_keys=True, ensure_ascii=False)
        self._digest.update(b"\n" + line.encode("utf-8"))

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def content_digest(header: Mapping[str, Any], documents: Iterable[IndexedDocument]) -> str:
    """The :class:`ContentDigest` of ``documents`` (sorted into PMID order here)."""
    digest = ContentDigest(header)
    for document in sorted(documents, key=lambda d: d.pmid):
        digest.update(document)
    return digest.hexdigest()
