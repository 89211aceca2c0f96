"""Offline retrieval: BM25 over a local corpus of PubMed articles, from a memory-mapped index.

The index (built by :mod:`meshdistill.retrieval.bm25_build`) is flat arrays: a vocabulary of
sorted term keys, each term's postings (document rows and precomputed impact scores) and the
documents by row. Opening maps the files and reads the manifest, a few milliseconds at any
corpus size; a query reads the postings of its own terms and the rows it returns, nothing else.

Scores are those of ``bm25s`` (method ``lucene``), the engine here before, bit for bit: the
same impacts summed in float32 in query-term order (a repeated query term counts again).
Ranking is deterministic: excluded PMIDs are dropped, and the top ``k`` are ordered by
descending score, then ascending PMID (string order; rows are in PMID order), so ties never
depend on the index's internal order.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import InputError
from meshdistill.records import Article
from meshdistill.retrieval.array_files import open_array
from meshdistill.retrieval.base import MANIFEST_NAME, RetrievedDocument, read_manifest
from meshdistill.retrieval.bm25_build import (
    INDEX_FORMAT_VERSION,
    BM25Parameters,
    BuildSettings,
    build_bm25_index,
    index_header,
)
from meshdistill.retrieval.document_store import ARRAYS as STORE_ARRAYS
from meshdistill.retrieval.document_store import MESH_VOCABULARY_NAME, DocumentStore
from meshdistill.retrieval.documents import IndexedDocument, content_digest, unique_documents
from meshdistill.retrieval.term_keys import lookup_terms
from meshdistill.retrieval.tokens import TOKENIZER_VERSION, query_terms

__all__ = ["BM25Parameters", "BM25Retriever", "BuildSettings", "corpus_fingerprint"]

SCORE_DECIMALS = 6  # BM25 scores are float32; rounding keeps outputs stable across platforms
RERUN = "rebuild it with the workflow rule retrieval_index (snakemake --forcerun retrieval_index)"
# Above this share of the corpus in a query's postings, scores accumulate in one array over all
# documents (a memset) rather than over the sorted union of the postings (a sort).
DENSE_ACCUMULATION_SHARE = 0.125
INDEX_ARRAYS = (
    "term_keys.bin",
    "term_checks.bin",
    "term_starts.bin",
    "postings_rows.bin",
    "postings_impacts.bin",
    "doc_lengths.bin",
)


def corpus_fingerprint(
    articles: Sequence[Article], parameters: BM25Parameters | None = None
) -> str:
    """sha256 identifying what an index over ``articles`` would contain; lets a workflow
    decide whether a saved index is stale without rebuilding it."""
    return content_digest(index_header(parameters or BM25Parameters()), unique_documents(articles))


class BM25Retriever:
    """BM25 over titles and abstracts. Build once per corpus, then open it in every job."""

    def __init__(self, folder: Path, manifest: dict[str, Any], scratch: Any | None = None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.fingerprint: str = manifest["fingerprint"]
        self._scratch = scratch  # keeps a temporary build folder alive as long as the retriever
        arrays = manifest["arrays"]
        opened = {name: open_array(folder, name, arrays.get(name), RERUN) for name in INDEX_ARRAYS}
        self._keys = opened["term_keys.bin"]
        self._checks = opened["term_checks.bin"]
        self._starts = opened["term_starts.bin"]
        self._rows = opened["postings_rows.bin"]
        self._impacts = opened["postings_impacts.bin"]
        documents = int(manifest["documents"])
        self.store = DocumentStore(folder, arrays, documents, RERUN)
        terms = int(manifest["terms"])
        if not (
            len(self._keys) == len(self._checks) == terms
            and len(self._starts) == terms + 1
            and len(self._rows) == len(self._impacts) == int(manifest["postings"])
            and len(opened["doc_lengths.bin"]) == documents
            and (terms == 0 or int(self._starts[-1]) == len(self._rows))
        ):
            raise InputError(str(folder), f"index arrays disagree with the manifest; {RERUN}")

    def __len__(self) -> int:
        return len(self.store)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build_from_documents(
        cls,
        documents: Iterable[IndexedDocument],
        folder: str | Path,
        parameters: BM25Parameters | None = None,
        settings: BuildSettings | None = None,
    ) -> BM25Retriever:
        """Index ``documents`` (strictly increasing PMIDs) into ``folder`` and open it."""
        build_bm25_index(documents, folder, parameters, settings)
        return cls.load(folder)

    @classmethod
    def build(
        cls,
        articles: Sequence[Article],
        parameters: BM25Parameters | None = None,
        folder: str | Path | None = None,
        settings: BuildSettings | None = None,
    ) -> BM25Retriever:
        """Index articles held in memory (the newest version of a PMID wins) into ``folder``,
        or into a temporary folder that lives as long as the retriever."""
        scratch = None
        if folder is None:
            scratch = tempfile.TemporaryDirectory(prefix="bm25_")
            folder = scratch.name
        build_bm25_index(unique_documents(articles), folder, parameters, settings)
        retriever = cls.load(folder)
        retriever._scratch = scratch
        return retriever

    def save(self, directory: str | Path) -> None:
        """Copy the index to ``directory`` (the manifest last)."""
        target = Path(directory)
        if target.resolve() == self.folder.resolve():
            return
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST_NAME).unlink(missing_ok=True)
        for name in (*INDEX_ARRAYS, *STORE_ARRAYS, MESH_VOCABULARY_NAME, MANIFEST_NAME):
            shutil.copyfile(self.folder / name, target / name)

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | Path, expected_fingerprint: str | None = None) -> BM25Retriever:
        """Open a saved index memory-mapped; raise :class:`InputError` (naming the folder and
        the rule that rebuilds it) if it is missing, incomplete, from another format or
        tokenizer version, or (when given) not built from the expected corpus. Documents are
        not re-read: the content fingerprint was computed at build time."""
        folder = Path(directory)
        manifest_path, manifest = read_manifest(folder, "BM25", RERUN)
        if manifest.get("format") != INDEX_FORMAT_VERSION:
            raise InputError(
                str(manifest_path),
                f"index format {manifest.get('format')!r} is not {INDEX_FORMAT_VERSION}; {RERUN}",
            )
        if manifest.get("tokenizer") != TOKENIZER_VERSION:
            raise InputError(
                str(manifest_path), f"index was built with another tokenizer version; {RERUN}"
            )
        missing = [
            key
            for key in ("bm25", "documents", "terms", "postings", "fingerprint", "arrays")
            if key not in manifest
        ]
        if missing:
            raise InputError(str(manifest_path), f"manifest lacks {missing}; {RERUN}")
        if expected_fingerprint is not None and manifest["fingerprint"] != expected_fingerprint:
            raise InputError(str(folder), f"index was built from a different corpus; {RERUN}")
        return cls(folder, manifest)

    open = load

    def verify(self) -> None:
        """Re-read every document and check it against the build's fingerprint (slow: for
        audits, never per job)."""
        parameters = BM25Parameters(**self.manifest["bm25"])
        if content_digest(index_header(parameters), self.store) != self.fingerprint:
            raise InputError(
                str(self.folder),
                f"documents do not match the manifest fingerprint; the index folder is "
                f"corrupt or was edited; {RERUN}",
            )

    # -- corpus annotations ---------------------------------------------------------------

    def corpus_annotations(self) -> Iterator[tuple[str, ...]]:
        return self.store.iter_annotations()

    def annotation_counts(self) -> AnnotationCounts:
        """Heading counts summed at build time: what corpus information content needs."""
        return self.store.annotation_counts()

    # -- searching ------------------------------------------------------------------------

    def _query_postings(self, query: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(rows, impacts) of each known query term, in query order, repeats included."""
        postings = []
        for term in lookup_terms(self._keys, self._checks, query_terms(query)):
            if term is not None:
                start, stop = int(self._starts[term]), int(self._starts[term + 1])
                postings.append((self._rows[start:stop], self._impacts[start:stop]))
        return postings

    def _accumulate(self, query: str) -> tuple[np.ndarray | None, np.ndarray]:
        """Float32 scores for ``query``: of the rows sharing a term with it (ascending), or,
        with rows None, of every row. ``np.add.at`` adds in posting order without buffering,
        as bm25s did, so sums round identically."""
        postings = self._query_postings(query)
        total = sum(len(rows) for rows, _ in postings)
        if total >= DENSE_ACCUMULATION_SHARE * len(self):
            dense = np.zeros(len(self), dtype=np.float32)
            for rows, impacts in postings:
                np.add.at(dense, rows, impacts)
            return None, dense
        if total == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        matched = np.unique(np.concatenate([rows for rows, _ in postings])).astype(np.int64)
        scores = np.zeros(len(matched), dtype=np.float32)
        for rows, impacts in postings:
            np.add.at(scores, np.searchsorted(matched, rows), impacts)
        return matched, scores

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed document for ``query`` (zeros when no term is known)."""
        rows, scores = self._accumulate(query)
        if rows is None:
            return scores
        dense = np.zeros(len(self), dtype=np.float32)
        dense[rows] = scores
        return dense

    def search(
        self, query: str, k: int, exclude_pmids: Collection[str] = ()
    ) -> list[RetrievedDocument]:
        """The ``k`` best documents sharing at least one term with ``query``, excluding
        ``exclude_pmids`` (e.g. the source abstract). Documents scoring zero share no term
        and are never returned, so fewer than ``k`` may come back."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        # Float32 throughout: widening to float64 changes no comparison, and would cost a pass.
        matched, scores = self._accumulate(query)
        for pmid in exclude_pmids:
            row = self.store.row_of(pmid)
            if row is None:
                continue
            if matched is None:
                scores[row] = -np.inf
            else:
                position = int(np.searchsorted(matched, row))
                if position < len(matched) and matched[position] == row:
                    scores[position] = -np.inf
        positive = scores > 0.0
        if np.count_nonzero(positive) > k:
            # Keep every document tied with the k-th best so the PMID tie-break sees them all
            # (the k-th best is positive, as more than k scores are).
            kth_best = -np.partition(-scores, k - 1)[k - 1]
            candidates = np.flatnonzero(scores >= kth_best)
        else:
            candidates = np.flatnonzero(positive)
        rows = candidates if matched is None else matched[candidates]
        # lexsort: last key is primary; rows are in PMID order, so equal scores keep PMID order.
        best = np.lexsort((rows, -scores[candidates]))[:k]
        results = []
        for rank, chosen in enumerate(best.tolist(), start=1):
            document = self.store.document(int(rows[chosen]))
            results.append(
                RetrievedDocument(
                    pmid=document.pmid,
                    rank=rank,
                    score=round(float(scores[candidates[chosen]]), SCORE_DECIMALS),
                    mesh_uis=document.mesh_uis,
                    title=document.title,
                    text=document.abstract,
                )
            )
        return results
