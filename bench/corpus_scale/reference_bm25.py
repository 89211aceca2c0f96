"""Reference for bench/corpus_scale: the BM25 retriever as it was before the memory-mapped
index (commit 8546a90, src/meshdistill/retrieval/bm25.py), unchanged but for this paragraph:
bm25s built from every document's tokens in memory, documents saved as documents.jsonl and
re-read and re-fingerprinted by every load.

Offline retrieval: BM25 over a local corpus of PubMed articles, via ``bm25s``.

``bm25s`` keeps the index as sparse matrices and scores a query with a few vectorised
operations, so an index over a whole PubMed baseline subset fits in memory and answers a
question in milliseconds; hand-written BM25 would need the same sparse machinery.

Ranking is deterministic: every document's score is computed, excluded PMIDs are masked,
and the top ``k`` are ordered by descending score, then ascending PMID (string order), so
ties never depend on the index's internal order.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from meshdistill.errors import InputError
from meshdistill.records import Article
from meshdistill.retrieval.base import MANIFEST_NAME, RetrievedDocument, read_manifest
from meshdistill.retrieval.documents import IndexedDocument, content_digest, unique_documents
from meshdistill.retrieval.tokens import TOKENIZER_VERSION, tokenize

INDEX_FORMAT_VERSION = 1
DOCUMENTS_NAME = "documents.jsonl"
MODEL_DIR_NAME = "bm25"
SCORE_DECIMALS = 6  # BM25 scores are float32; rounding keeps outputs stable across platforms


@dataclass(frozen=True)
class BM25Parameters:
    """Okapi BM25 constants (the usual defaults: k1 = 1.5 saturates term frequency, b = 0.75
    normalises for document length)."""

    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"

    def to_dict(self) -> dict[str, Any]:
        return {"k1": self.k1, "b": self.b, "method": self.method}


def _fingerprint(documents: Iterable[IndexedDocument], parameters: BM25Parameters) -> str:
    header = {
        "format": INDEX_FORMAT_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "bm25": parameters.to_dict(),
    }
    return content_digest(header, documents)


def corpus_fingerprint(
    articles: Sequence[Article], parameters: BM25Parameters | None = None
) -> str:
    """sha256 identifying what an index over ``articles`` would contain; lets a workflow
    decide whether a saved index is stale without rebuilding it."""
    return _fingerprint(unique_documents(articles), parameters or BM25Parameters())


class BM25Retriever:
    """BM25 over titles and abstracts. Build once per corpus, save, and load in later jobs."""

    def __init__(
        self,
        model: bm25s.BM25,
        documents: Sequence[IndexedDocument],
        parameters: BM25Parameters,
        fingerprint: str,
    ) -> None:
        self._model = model
        self._documents = list(documents)
        self._parameters = parameters
        self.fingerprint = fingerprint
        self._row_of_pmid = {doc.pmid: row for row, doc in enumerate(self._documents)}

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def documents(self) -> tuple[IndexedDocument, ...]:
        """The indexed documents in PMID order (e.g. for corpus-based information content)."""
        return tuple(self._documents)

    def corpus_annotations(self) -> Iterator[tuple[str, ...]]:
        return (document.mesh_uis for document in self._documents)

    @classmethod
    def build(
        cls, articles: Sequence[Article], parameters: BM25Parameters | None = None
    ) -> BM25Retriever:
        parameters = parameters or BM25Parameters()
        documents = unique_documents(articles)
        if not documents:
            raise InputError("corpus", "cannot build a BM25 index over zero articles")
        model = bm25s.BM25(k1=parameters.k1, b=parameters.b, method=parameters.method)
        corpus_tokens = [tokenize(doc.text) for doc in documents]
        model.index(corpus_tokens, show_progress=False)
        return cls(model, documents, parameters, _fingerprint(documents, parameters))

    def save(self, directory: str | Path) -> None:
        """Write the sparse index, the documents' metadata and a manifest with the fingerprint."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        self._model.save(str(folder / MODEL_DIR_NAME), show_progress=False)
        with (folder / DOCUMENTS_NAME).open("w", encoding="utf-8") as handle:
            for document in self._documents:
                handle.write(json.dumps(document.to_dict(), sort_keys=True, ensure_ascii=False))
                handle.write("\n")
        manifest = {
            "format": INDEX_FORMAT_VERSION,
            "tokenizer": TOKENIZER_VERSION,
            "bm25": self._parameters.to_dict(),
            "documents": len(self._documents),
            "fingerprint": self.fingerprint,
        }
        (folder / MANIFEST_NAME).write_text(
            json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: str | Path, expected_fingerprint: str | None = None) -> BM25Retriever:
        """Load a saved index; raise :class:`InputError` if it is incomplete, from another
        format or tokenizer version, or (when given) not built from the expected corpus."""
        folder = Path(directory)
        manifest_path, manifest = read_manifest(folder, "BM25")
        if manifest.get("format") != INDEX_FORMAT_VERSION:
            raise InputError(
                str(manifest_path),
                f"index format {manifest.get('format')!r} "
                f"is not {INDEX_FORMAT_VERSION}; rebuild the index",
            )
        if manifest.get("tokenizer") != TOKENIZER_VERSION:
            raise InputError(
                str(manifest_path),
                "index was built with another tokenizer version; rebuild the index",
            )
        parameters = BM25Parameters(**manifest["bm25"])
        documents = _read_documents(folder / DOCUMENTS_NAME)
        fingerprint = _fingerprint(documents, parameters)
        if fingerprint != manifest.get("fingerprint"):
            raise InputError(
                str(folder),
                "documents do not match the manifest fingerprint; "
                "the index folder is corrupt or was edited",
            )
        if expected_fingerprint is not None and fingerprint != expected_fingerprint:
            raise InputError(str(folder), "index was built from a different corpus; rebuild it")
        model = bm25s.BM25.load(str(folder / MODEL_DIR_NAME), show_progress=False)
        return cls(model, documents, parameters, fingerprint)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed document for ``query`` (zeros when no term is known)."""
        token_ids = self._model.get_tokens_ids(tokenize(query))
        if not token_ids:
            return np.zeros(len(self._documents), dtype=np.float32)
        return np.asarray(self._model.get_scores(token_ids), dtype=np.float32)

    def search(
        self, query: str, k: int, exclude_pmids: Collection[str] = ()
    ) -> list[RetrievedDocument]:
        """The ``k`` best documents sharing at least one term with ``query``, excluding
        ``exclude_pmids`` (e.g. the source abstract). Documents scoring zero share no term
        and are never returned, so fewer than ``k`` may come back."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        scores = self.scores(query).astype(np.float64)
        for pmid in exclude_pmids:
            row = self._row_of_pmid.get(pmid)
            if row is not None:
                scores[row] = -np.inf
        candidates = np.flatnonzero(scores > 0.0)
        if candidates.size > k:
            # Keep every document tied with the k-th best so the PMID tie-break sees them all.
            kth_best = np.partition(scores[candidates], candidates.size - k)[candidates.size - k]
            candidates = candidates[scores[candidates] >= kth_best]
        # lexsort: last key is primary; rows are in PMID order, so equal scores keep PMID order.
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        results = []
        for rank, row in enumerate(order, start=1):
            document = self._documents[int(row)]
            results.append(
                RetrievedDocument(
                    pmid=document.pmid,
                    rank=rank,
                    score=round(float(scores[row]), SCORE_DECIMALS),
                    mesh_uis=document.mesh_uis,
                    title=document.title,
                    text=document.abstract,
                )
            )
        return results


def _read_documents(path: Path) -> list[IndexedDocument]:
    if not path.is_file():
        raise InputError(str(path), "index documents file is missing")
    documents = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                data = json.loads(line)
                documents.append(
                    IndexedDocument(
                        pmid=str(data["pmid"]),
                        title=data["title"],
                        abstract=data["abstract"],
                        mesh_uis=tuple(data["mesh_uis"]),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise InputError(str(path), f"bad document: {error}", f"line {line_no}") from error
    return documents
