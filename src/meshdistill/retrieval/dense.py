"""Offline dense retrieval: sentence embeddings of titles and abstracts in a Qdrant collection.

Each indexed document is one Qdrant point: its vector (the embedding of title and abstract)
and a payload with the PMID, title, abstract text and MeSH UIs, so a search returns everything
the scoring stage needs without a second store. The same code talks to Qdrant's embedded local
mode (a folder inside the index folder; exact search, for corpora up to some tens of thousands of
abstracts) or to a Qdrant server (``retrieval.dense.url``) for PubMed-scale corpora.

The index folder holds ``manifest.json`` (model digest, corpus fingerprint, collection name)
and, in local mode, the Qdrant storage. The collection is named after the corpus fingerprint,
so indexes of different corpora or models never overwrite each other on a shared server.

Determinism: documents are numbered in PMID order and identical texts are embedded once and
share a vector. Qdrant picks the candidates; their scores are recomputed exactly from the stored
vectors and rounded to ``SCORE_DECIMALS``, and results are ordered by descending score then
ascending PMID, fetching further while a candidate could still tie with the k-th one.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import ConfigError, InputError
from meshdistill.fileio import atomic_write_text
from meshdistill.records import Article
from meshdistill.retrieval.base import MANIFEST_NAME, RetrievedDocument, read_manifest
from meshdistill.retrieval.documents import IndexedDocument, content_digest, unique_documents
from meshdistill.retrieval.embedding import DENSE_EXTRA_HINT, SentenceEmbedder

INDEX_FORMAT_VERSION = 1
INDEX_KIND = "dense"
LOCAL_STORE_NAME = "qdrant"
COLLECTION_PREFIX = "meshdistill_"
SCORE_DECIMALS = 6  # as BM25: scores are compared and recorded to 6 decimals
# Qdrant ranks in float32 (errors near 1e-7); points within this of the k-th are rescored too.
RESCORE_MARGIN = 1e-4
# Points sent per upsert request and read per scroll page: bounds request size, not results.
UPSERT_BATCH = 256
# One short question per call: more intra-op threads only add synchronisation (measured
# 21 ms per question with 1 thread, 40-430 ms with 2, on a busy 2-core machine).
QUERY_THREADS = 1

_LOG = logging.getLogger(__name__)
SCROLL_PAGE = 1024


@dataclass(frozen=True)
class DenseSettings:
    """The settings of ``retrieval.dense`` that shape an index (schemas/config.schema.yaml);
    query-time ones (``exact_search``) are arguments of :meth:`DenseRetriever.open`."""

    model: str | None
    url: str | None
    api_key_env: str | None
    batch_size: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> DenseSettings:
        return cls(
            model=settings["model"],
            url=settings["url"],
            api_key_env=settings["api_key_env"],
            batch_size=int(settings["batch_size"]),
        )

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))


def _fingerprint(documents: Sequence[IndexedDocument], model_digest: str) -> str:
    header = {"format": INDEX_FORMAT_VERSION, "kind": INDEX_KIND, "model": model_digest}
    return content_digest(header, documents)


def _qdrant() -> Any:
    try:
        import qdrant_client
    except ImportError as error:
        raise ConfigError(
            "retrieval.method", f"dense retrieval needs qdrant-client; {DENSE_EXTRA_HINT}"
        ) from error
    return qdrant_client


def _models() -> Any:
    return _qdrant().models


class _Store:
    """A Qdrant client on the local folder or the server, holding the folder's lock.

    Embedded Qdrant lets one process at a time open a folder and fails at once otherwise;
    parallel jobs of the workflow instead wait on a lock file beside the index folder (not
    inside it: files written into a Snakemake output folder would make it look newer)."""

    def __init__(self, index_dir: Path, url: str | None, api_key_env: str | None) -> None:
        client_class = _qdrant().QdrantClient
        self.remote = url is not None
        self._lock: FileLock | None = None
        if url is None:
            self._lock = FileLock(str(index_dir.with_name(index_dir.name + ".lock")))
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                _LOG.info("waiting for %s: another job has it open", index_dir)
                self._lock.acquire()
            try:
                self.client = client_class(path=str(index_dir / LOCAL_STORE_NAME))
            except BaseException:
                self._lock.release()
                raise
        else:
            api_key = None
            if api_key_env:
                api_key = os.environ.get(api_key_env)
                if not api_key:
                    raise ConfigError(
                        "retrieval.dense.api_key_env",
                        f"environment variable {api_key_env} is not set",
                    )
            self.client = client_class(url=url, api_key=api_key)

    def close(self) -> None:
        self.client.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class DenseRetriever:
    """Nearest neighbours of a question's embedding among the indexed abstracts (cosine).

    Holds a Qdrant client, so use it as a context manager (or call :meth:`close`): in local
    mode other processes wait for the folder until it is closed.
    """

    def __init__(
        self,
        store: _Store,
        embedder: SentenceEmbedder,
        collection: str,
        size: int,
        fingerprint: str,
        exact_search: bool,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self.collection = collection
        self._size = size
        self.fingerprint = fingerprint
        self._exact_search = exact_search

    def __len__(self) -> int:
        return self._size

    def __enter__(self) -> DenseRetriever:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    @classmethod
    def build(
        cls,
        articles: Sequence[Article],
        settings: DenseSettings,
        index_dir: str | Path,
        *,
        threads: int | None = None,
        logger: logging.Logger | None = None,
    ) -> DenseRetriever:
        """Embed the corpus, store it in Qdrant and write the manifest; returns the open
        retriever. An existing collection of the same name is replaced."""
        models = _models()
        documents = unique_documents(articles)
        if not documents:
            raise InputError("retrieval.corpus", "cannot build a dense index over zero articles")
        embedder = SentenceEmbedder.load(settings.model, threads)
        fingerprint = _fingerprint(documents, embedder.info.digest)
        collection = COLLECTION_PREFIX + fingerprint[:16]
        texts = [document.text for document in documents]
        distinct = list(dict.fromkeys(texts))
        vectors = embedder.embed_documents(distinct, settings.batch_size)
        row_of_text = {text: row for row, text in enumerate(distinct)}
        if logger:
            logger.info(
                "embedded %d distinct texts of %d documents with %s",
                len(distinct),
                len(documents),
                embedder.info.path,
            )

        folder = Path(index_dir)
        folder.mkdir(parents=True, exist_ok=True)
        store = _Store(folder, settings.url, settings.api_key_env)
        try:
            client = store.client
            if client.collection_exists(collection):
                client.delete_collection(collection)
            client.create_collection(
                collection,
                # The embeddings are unit vectors already, so their dot product is the cosine;
                # with COSINE, Qdrant would renormalise them on insert (but not on reload), and
                # a fresh collection would score differently from the same one reopened.
                vectors_config=models.VectorParams(
                    size=embedder.info.dimension, distance=models.Distance.DOT
                ),
            )
            for start in range(0, len(documents), UPSERT_BATCH):
                batch = documents[start : start + UPSERT_BATCH]
                points = [
                    models.PointStruct(
                        id=start + offset,
                        vector=vectors[row_of_text[document.text]].tolist(),
                        payload={
                            "pmid": document.pmid,
                            "title": document.title,
                            "text": document.abstract,
                            "mesh_uis": list(document.mesh_uis),
                        },
                    )
                    for offset, document in enumerate(batch)
                ]
                client.upsert(collection, points=points, wait=True)
            manifest = {
                "format": INDEX_FORMAT_VERSION,
                "kind": INDEX_KIND,
                # The configured setting (null = bundled), not the resolved path, which
                # differs between machines; the digest pins the weights.
                "model": {**embedder.info.to_dict(), "path": settings.model},
                "documents": len(documents),
                "fingerprint": fingerprint,
                "collection": collection,
                "store": {"url": settings.url} if settings.url else {"path": LOCAL_STORE_NAME},
            }
            atomic_write_text(
                folder / MANIFEST_NAME, json.dumps(manifest, sort_keys=True, indent=2) + "\n"
            )
        except BaseException:
            store.close()
            raise
        # Local mode always searches exactly; a fresh server collection is searched exactly too.
        return cls(store, embedder, collection, len(documents), fingerprint, exact_search=True)

    @classmethod
    def open(
        cls,
        index_dir: str | Path,
        settings: DenseSettings,
        *,
        exact_search: bool,
        threads: int = QUERY_THREADS,
    ) -> DenseRetriever:
        """Open a built index; raise :class:`InputError` if it is incomplete, of another
        format, built with other model weights, or missing from its Qdrant store."""
        folder = Path(index_dir)
        manifest = _read_manifest(folder)
        store_spec = manifest.get("store") or {}
        if (settings.url is None) != ("path" in store_spec):
            where = settings.url or "the local folder"
            raise InputError(
                str(folder), f"index was not built in {where} (retrieval.dense.url); rebuild it"
            )
        embedder = SentenceEmbedder.load(settings.model, threads)
        if embedder.info.digest != manifest["model"]["digest"]:
            raise InputError(
                str(folder),
                f"index was built with other model weights than {embedder.info.path} "
                "(retrieval.dense.model); rebuild it",
            )
        store = _Store(folder, settings.url, settings.api_key_env)
        try:
            collection = manifest["collection"]
            if not store.client.collection_exists(collection):
                raise InputError(
                    str(folder), f"Qdrant collection '{collection}' is missing; rebuild the index"
                )
            count = store.client.count(collection, exact=True).count
            if count != manifest["documents"]:
                raise InputError(
                    str(folder),
                    f"Qdrant collection '{collection}' holds {count} points, the manifest "
                    f"{manifest['documents']}; rebuild the index",
                )
        except BaseException:
            store.close()
            raise
        return cls(
            store,
            embedder,
            collection,
            int(manifest["documents"]),
            str(manifest["fingerprint"]),
            exact_search,
        )

    def search(
        self, query: str, k: int, exclude_pmids: Collection[str] = ()
    ) -> list[RetrievedDocument]:
        """The ``k`` documents whose embeddings are closest to the question's (fewer only when
        the index holds fewer), none of them in ``exclude_pmids``."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        models = _models()
        query_vector = self._embedder.embed_query(query).tolist()
        # The embedded mode always searches exactly (and warns about search parameters).
        search_params = None
        if self._store.remote:
            search_params = models.SearchParams(exact=self._exact_search)
        # Excluded PMIDs (the source, a handful at most) are dropped from the hits rather than
        # filtered in Qdrant: the embedded mode evaluates filters point by point in Python,
        # which made a question take 75 ms instead of 20 ms over 2,000 abstracts.
        excluded = set(exclude_pmids)
        limit = k + len(excluded) + 1
        while True:
            fetched = self._store.client.query_points(
                self.collection,
                query=query_vector,
                search_params=search_params,
                limit=limit,
                with_payload=True,
                with_vectors=True,
            ).points
            points = [point for point in fetched if point.payload["pmid"] not in excluded]
            if len(fetched) < limit:
                break  # every point has been seen
            # Fetch on while the last point might still tie with the k-th once scored exactly.
            if len(points) > k and points[-1].score < points[k - 1].score - RESCORE_MARGIN:
                break
            limit *= 2
        scored = [
            (round(_exact_dot(query_vector, point.vector), SCORE_DECIMALS), point)
            for point in points
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1].payload["pmid"]))
        return [
            RetrievedDocument(
                pmid=point.payload["pmid"],
                rank=rank,
                score=score,
                mesh_uis=tuple(point.payload["mesh_uis"]),
                title=point.payload["title"],
                text=point.payload["text"],
            )
            for rank, (score, point) in enumerate(scored[:k], start=1)
        ]

    def annotation_counts(self) -> AnnotationCounts:
        """Counted from the collection's payloads (a BM25 index stores them counted)."""
        return AnnotationCounts.from_documents(self.corpus_annotations())

    def corpus_annotations(self) -> Iterator[tuple[str, ...]]:
        """Read from the collection's payloads page by page (point ids follow PMID order)."""
        offset = None
        while True:
            records, offset = self._store.client.scroll(
                self.collection,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=["mesh_uis"],
                with_vectors=False,
            )
            for record in records:
                yield tuple(record.payload["mesh_uis"])
            if offset is None:
                return


def _exact_dot(query: Sequence[float], vector: Any) -> float:
    """The dot product of two unit vectors (their cosine), exactly rounded: products of
    float32 values are exact in float64 and ``fsum`` adds them without rounding error, so the
    score does not depend on how Qdrant laid the vectors out in memory (its own float32 scores
    differ in the 7th digit between a freshly built and a reopened collection)."""
    return math.fsum(q * v for q, v in zip(query, vector, strict=True))


def _read_manifest(folder: Path) -> dict[str, Any]:
    path, manifest = read_manifest(folder, "dense")
    if manifest.get("kind") != INDEX_KIND or manifest.get("format") != INDEX_FORMAT_VERSION:
        raise InputError(
            str(path),
            f"not a dense index of format {INDEX_FORMAT_VERSION} "
            f"(kind {manifest.get('kind')!r}, format {manifest.get('format')!r}); rebuild it",
        )
    return dict(manifest)
