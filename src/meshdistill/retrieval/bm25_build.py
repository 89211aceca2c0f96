"""Build a BM25 index in bounded memory: documents stream in (PMID order) a batch at a time,
each batch becomes a sorted run of postings on disk, and the runs are merged term range by
term range into flat arrays (CSR: term offsets, document rows, impact scores).

Memory is one batch while reading, and at most ``merge_postings`` postings while merging, plus
a chunk of each run's terms, 28 bytes per distinct term and 4 bytes per document (its length),
never the documents (bench/corpus_scale: 378 MiB peak at 1M articles, as at 100k).

Impacts are Okapi BM25 term weights computed exactly as ``bm25s`` (method ``lucene``) computed
them when it was the engine here: the idf in double precision rounded to float32, the
length-normalised term frequency in double precision, their product rounded to float32. A
query sums them in float32 in query-term order, so scores are bit-identical to ``bm25s``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meshdistill.errors import InputError
from meshdistill.retrieval.array_files import ArrayWriter, read_slice
from meshdistill.retrieval.base import MANIFEST_NAME
from meshdistill.retrieval.document_store import DocumentStoreWriter
from meshdistill.retrieval.documents import ContentDigest, IndexedDocument
from meshdistill.retrieval.term_keys import KEY_DTYPE, term_keys
from meshdistill.retrieval.tokens import TOKENIZER_VERSION, tokenize

INDEX_FORMAT_VERSION = 2
ROW_DTYPE = np.dtype("<u4")  # document rows: up to 4.29 billion documents
IMPACT_DTYPE = np.dtype("<f4")
TF_DTYPE = np.dtype("<u4")
COUNT_DTYPE = np.dtype("<i8")
RUNS_FOLDER = ".runs"
VOCABULARY_MERGE_FAN_IN = 16  # runs whose vocabularies join the union at a time
RUN_TERMS_CHUNK = 8192  # terms of each run held while merging


@dataclass(frozen=True)
class BM25Parameters:
    """Okapi BM25 constants (the usual defaults: k1 = 1.5 saturates term frequency, b = 0.75
    normalises for document length); idf and term weights as Lucene computes them."""

    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"

    def __post_init__(self) -> None:
        if self.method != "lucene":
            raise ValueError(f"only the 'lucene' BM25 variant is implemented, not {self.method!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"k1": self.k1, "b": self.b, "method": self.method}


@dataclass(frozen=True)
class BuildSettings:
    """How much a build holds at once (``retrieval.bm25`` of the config): documents per run,
    and postings per merge step. Neither changes the index, only memory and speed."""

    batch_documents: int = 10_000
    merge_postings: int = 1_000_000

    def __post_init__(self) -> None:
        if self.batch_documents < 1 or self.merge_postings < 1:
            raise ValueError(f"build settings must be positive, got {self}")


def index_header(parameters: BM25Parameters) -> dict[str, Any]:
    """What besides the documents decides an index's content (and so its fingerprint)."""
    return {
        "format": INDEX_FORMAT_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "bm25": parameters.to_dict(),
    }


@dataclass
class _Run:
    """One batch's postings on disk, sorted by term key then row."""

    prefix: Path
    terms: int
    postings: int

    def path(self, part: str) -> Path:
        return self.prefix.with_name(f"{self.prefix.name}.{part}")


class _RunTerms:
    """A run's terms in merge order, read from disk a chunk at a time (so merging many runs
    holds a chunk per run, not every run's vocabulary)."""

    def __init__(self, run: _Run, keys: np.ndarray, chunk: int) -> None:
        self.run = run
        self._keys = keys  # the global vocabulary, sorted
        self._chunk = chunk
        self._read = 0  # run terms read from disk so far
        self._ids = np.empty(0, dtype=np.int64)
        self._counts = np.empty(0, dtype=np.int64)
        self._position = 0  # next unconsumed term in the buffer
        self.postings_taken = 0

    def _refill(self) -> bool:
        stop = min(self._read + self._chunk, self.run.terms)
        if stop == self._read:
            return False
        keys = read_slice(self.run.path("keys"), KEY_DTYPE, self._read, stop)
        self._ids = np.searchsorted(self._keys, keys).astype(np.int64)
        self._counts = read_slice(self.run.path("counts"), COUNT_DTYPE, self._read, stop)
        self._position = 0
        self._read = stop
        return True

    def take(self, stop: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The next terms with global id below ``stop``: their ids, posting counts, and the
        range of the run's postings that they hold."""
        ids, counts = [], []
        while self._position < len(self._ids) or self._refill():
            buffered = self._ids[self._position :]
            taken = int(np.searchsorted(buffered, stop))
            ids.append(buffered[:taken])
            counts.append(self._counts[self._position : self._position + taken])
            self._position += taken
            if self._position < len(self._ids):
                break  # the next term belongs to a later step
        all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
        all_counts = np.concatenate(counts) if counts else np.empty(0, dtype=np.int64)
        start = self.postings_taken
        self.postings_taken += int(all_counts.sum())
        return all_ids, all_counts, start, self.postings_taken


def _batches(documents: Iterable[IndexedDocument], size: int) -> Iterator[list[IndexedDocument]]:
    iterator = iter(documents)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _write_run(
    batch: list[IndexedDocument], first_row: int, prefix: Path
) -> tuple[_Run, list[int]]:
    """Tokenise a batch and write its postings as a run; returns the run and the documents'
    lengths in tokens."""
    local_id: dict[str, int] = {}
    term_of_posting: list[int] = []
    frequencies: list[int] = []
    postings_per_document: list[int] = []
    lengths: list[int] = []
    for document in batch:
        tokens = tokenize(document.text)
        lengths.append(len(tokens))
        counts = Counter(tokens)
        postings_per_document.append(len(counts))
        for term, frequency in counts.items():
            term_id = local_id.get(term)
            if term_id is None:
                term_id = local_id[term] = len(local_id)
            term_of_posting.append(term_id)
            frequencies.append(frequency)
    keys, checks = term_keys(list(local_id))
    by_key = np.argsort(keys, kind="stable")
    sorted_keys = keys[by_key]
    clash = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
    if clash.size:
        terms = list(local_id)
        pair = [terms[by_key[clash[0]]], terms[by_key[clash[0] + 1]]]
        raise InputError("corpus", f"the terms {pair} share a 64-bit key; report this as a bug")
    rank = np.empty(len(keys), dtype=np.int64)
    rank[by_key] = np.arange(len(keys))
    posting_rank = rank[np.asarray(term_of_posting, dtype=np.int64)]
    rows = np.repeat(
        np.arange(first_row, first_row + len(batch), dtype=np.int64), postings_per_document
    )
    order = np.argsort(posting_rank, kind="stable")  # rows ascend within a term already
    run = _Run(prefix, terms=len(keys), postings=len(posting_rank))
    sorted_keys.astype(KEY_DTYPE).tofile(run.path("keys"))
    checks[by_key].astype(KEY_DTYPE).tofile(run.path("checks"))
    np.bincount(posting_rank, minlength=len(keys)).astype(COUNT_DTYPE).tofile(run.path("counts"))
    rows[order].astype(ROW_DTYPE).tofile(run.path("rows"))
    np.asarray(frequencies, dtype=np.int64)[order].astype(TF_DTYPE).tofile(run.path("tf"))
    return run, lengths


def _vocabulary(runs: list[_Run]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted union of the runs' term keys, their checks and document frequencies."""
    keys = np.empty(0, dtype=KEY_DTYPE)
    for first in range(0, len(runs), VOCABULARY_MERGE_FAN_IN):
        group = runs[first : first + VOCABULARY_MERGE_FAN_IN]
        run_keys = [np.fromfile(run.path("keys"), KEY_DTYPE) for run in group]
        keys = np.unique(np.concatenate([keys, *run_keys]))
    checks = np.zeros(len(keys), dtype=KEY_DTYPE)
    seen = np.zeros(len(keys), dtype=bool)
    frequencies = np.zeros(len(keys), dtype=np.int64)
    for run in runs:
        ids = np.searchsorted(keys, np.fromfile(run.path("keys"), KEY_DTYPE))
        run_checks = np.fromfile(run.path("checks"), KEY_DTYPE)
        if np.any(seen[ids] & (checks[ids] != run_checks)):
            raise InputError("corpus", "two terms share a 64-bit key; report this as a bug")
        checks[ids] = run_checks
        seen[ids] = True
        frequencies[ids] += np.fromfile(run.path("counts"), COUNT_DTYPE)
    return keys, checks, frequencies


def _idf(frequencies: np.ndarray, documents: int) -> np.ndarray:
    """Lucene's idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``, in double precision (with
    ``math.log``, as bm25s) and stored as float32; computed once per distinct df."""
    distinct, inverse = np.unique(frequencies, return_inverse=True)
    values = [math.log(1 + (documents - df + 0.5) / (df + 0.5)) for df in distinct.tolist()]
    return np.asarray(values, dtype=np.float32)[inverse]


def _impacts(
    idf: np.ndarray,
    terms: np.ndarray,
    rows: np.ndarray,
    frequencies: np.ndarray,
    lengths: np.ndarray,
    average_length: float,
    parameters: BM25Parameters,
) -> np.ndarray:
    k1, b = parameters.k1, parameters.b
    length = lengths[rows].astype(np.float64)
    normaliser = k1 * ((1 - b) + b * length / average_length)
    tf = frequencies.astype(np.float64)
    weight = idf[terms].astype(np.float64) * (tf / (normaliser + tf))
    return weight.astype(IMPACT_DTYPE)


def _merge(
    runs: list[_Run],
    keys: np.ndarray,
    term_starts: np.ndarray,
    budget: int,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Postings of all runs as (term ids, rows, term frequencies) chunks in (term, row) order,
    each of at most ``budget`` postings unless one term's postings from one run exceed it."""
    chunk = max(1, min(RUN_TERMS_CHUNK, budget))
    cursors = [_RunTerms(run, keys, chunk) for run in runs]
    total_terms = len(term_starts) - 1
    first = 0
    while first < total_terms:
        stop = int(np.searchsorted(term_starts, term_starts[first] + budget, side="right")) - 1
        stop = min(max(stop, first + 1), total_terms)
        pieces = []
        for cursor in cursors:
            ids, counts, start, end = cursor.take(stop)
            if start == end:
                continue
            terms = np.repeat(ids, counts)
            rows = read_slice(cursor.run.path("rows"), ROW_DTYPE, start, end)
            tf = read_slice(cursor.run.path("tf"), TF_DTYPE, start, end)
            if stop == first + 1:
                yield terms, rows, tf  # one term: runs follow each other in row order
            else:
                pieces.append((terms, rows, tf))
        if pieces:
            terms = np.concatenate([piece[0] for piece in pieces])
            order = np.argsort(terms, kind="stable")  # stable: runs, hence rows, stay in order
            yield (
                terms[order],
                np.concatenate([piece[1] for piece in pieces])[order],
                np.concatenate([piece[2] for piece in pieces])[order],
            )
        first = stop


def build_bm25_index(
    documents: Iterable[IndexedDocument],
    folder: str | Path,
    parameters: BM25Parameters | None = None,
    settings: BuildSettings | None = None,
    logger: logging.Logger | None = None,
) -> dict[str, Any]:
    """Index ``documents`` (strictly increasing PMIDs, as the corpus table yields them) into
    ``folder``; returns the manifest, which is written last so a folder without one is an
    unfinished build."""
    parameters = parameters or BM25Parameters()
    settings = settings or BuildSettings()
    log = logger or logging.getLogger(__name__)
    output = Path(folder)
    output.mkdir(parents=True, exist_ok=True)
    (output / MANIFEST_NAME).unlink(missing_ok=True)
    runs_folder = output / RUNS_FOLDER
    shutil.rmtree(runs_folder, ignore_errors=True)
    runs_folder.mkdir()
    header = index_header(parameters)
    digest = ContentDigest(header)
    store = DocumentStoreWriter(output)
    lengths_writer = ArrayWriter(output, "doc_lengths.bin", "<u4")
    runs: list[_Run] = []
    previous: str | None = None
    total_length = 0
    try:
        for batch in _batches(documents, settings.batch_documents):
            for document in batch:
                if previous is not None and not document.pmid > previous:
                    raise InputError(
                        "corpus",
                        f"documents must come in strictly increasing PMID order: "
                        f"{document.pmid!r} follows {previous!r}",
                    )
                previous = document.pmid
                digest.update(document)
            run, lengths = _write_run(batch, store.documents, runs_folder / f"run{len(runs):06d}")
            runs.append(run)
            store.append(batch)
            lengths_writer.append(lengths)
            total_length += sum(lengths)
            log.debug("indexed %d documents", store.documents)
        arrays = store.close()
        arrays["doc_lengths.bin"] = lengths_writer.close()
        count = store.documents
        if count == 0:
            raise InputError("corpus", "cannot build a BM25 index over zero articles")
        keys, checks, frequencies = _vocabulary(runs)
        term_starts = np.concatenate([[0], np.cumsum(frequencies)]).astype(np.int64)
        idf = _idf(frequencies, count)
        # as np.mean over the lengths: an exact integer sum divided once
        average_length = total_length / count
        lengths_all = np.fromfile(output / "doc_lengths.bin", dtype=np.dtype("<u4"))
        with (
            ArrayWriter(output, "postings_rows.bin", ROW_DTYPE.str) as rows_out,
            ArrayWriter(output, "postings_impacts.bin", IMPACT_DTYPE.str) as impacts_out,
        ):
            for terms, rows, tf in _merge(runs, keys, term_starts, settings.merge_postings):
                rows_out.append(rows)
                impacts_out.append(
                    _impacts(idf, terms, rows, tf, lengths_all, average_length, parameters)
                )
            arrays["postings_rows.bin"] = rows_out.close()
            arrays["postings_impacts.bin"] = impacts_out.close()
        for name, values in (
            ("term_keys.bin", keys),
            ("term_checks.bin", checks),
            ("term_starts.bin", term_starts),
        ):
            with ArrayWriter(output, name, values.dtype.str) as writer:
                writer.append(values)
                arrays[name] = writer.close()
    except BaseException:
        store.abort()
        lengths_writer.close()
        raise
    finally:
        shutil.rmtree(runs_folder, ignore_errors=True)
    manifest = {
        **header,
        "kind": "bm25",
        "documents": count,
        "terms": len(keys),
        "postings": int(term_starts[-1]),
        "average_length": average_length,
        "fingerprint": digest.hexdigest(),
        "arrays": dict(sorted(arrays.items())),
    }
    (output / MANIFEST_NAME).write_text(
        json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8"
    )
    log.info(
        "BM25 index of %d documents, %d terms, %d postings in %s",
        count,
        len(keys),
        manifest["postings"],
        output,
    )
    return manifest
