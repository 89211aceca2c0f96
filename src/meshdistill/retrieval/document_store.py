"""The documents of an offline index, stored by row (PMID order) as flat arrays: PMIDs and
texts as UTF-8 blobs with offsets, MeSH annotations as compressed rows of heading ids.

A job opens the store as memory maps and reads only the rows it returns, so opening costs the
same at a thousand documents as at millions. Heading counts for corpus information content
are summed once at build time.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import InputError
from meshdistill.retrieval.array_files import ArrayWriter, open_array
from meshdistill.retrieval.documents import IndexedDocument

OFFSET_DTYPE = "<i8"
HEADING_ID_DTYPE = "<i4"
COUNT_DTYPE = "<i8"
MESH_VOCABULARY_NAME = "mesh_vocabulary.json"
# name -> dtype of every array the store writes
ARRAYS = {
    "pmids.bin": "u1",
    "pmid_offsets.bin": OFFSET_DTYPE,
    "text.bin": "u1",
    "text_offsets.bin": OFFSET_DTYPE,  # title i = [2i, 2i+1), abstract i = [2i+1, 2i+2)
    "mesh_ids.bin": HEADING_ID_DTYPE,
    "mesh_offsets.bin": OFFSET_DTYPE,
    "mesh_document_counts.bin": COUNT_DTYPE,
    "mesh_occurrences.bin": COUNT_DTYPE,
}


class DocumentStoreWriter:
    """Appends documents in PMID order, a batch at a time."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._writers = {name: ArrayWriter(folder, name, dtype) for name, dtype in ARRAYS.items()}
        self._pmid_end = self._text_end = self._mesh_end = 0
        for name in ("pmid_offsets.bin", "text_offsets.bin", "mesh_offsets.bin"):
            self._writers[name].append([0])
        self._heading_id: dict[str, int] = {}
        self._documents_with: list[int] = []
        self._occurrences: list[int] = []
        self.documents = 0

    def append(self, batch: list[IndexedDocument]) -> None:
        pmids = [document.pmid.encode("utf-8") for document in batch]
        texts: list[bytes] = []
        for document in batch:
            texts.append(document.title.encode("utf-8"))
            texts.append(document.abstract.encode("utf-8"))
        heading_ids: list[int] = []
        mesh_ends: list[int] = []
        for document in batch:
            for ui in document.mesh_uis:
                heading_ids.append(self._heading(ui))
                self._occurrences[heading_ids[-1]] += 1
            for heading in {self._heading_id[ui] for ui in document.mesh_uis}:
                self._documents_with[heading] += 1
            mesh_ends.append(len(heading_ids))
        self._pmid_end = self._append_blob("pmids.bin", "pmid_offsets.bin", pmids, self._pmid_end)
        self._text_end = self._append_blob("text.bin", "text_offsets.bin", texts, self._text_end)
        self._writers["mesh_ids.bin"].append(np.asarray(heading_ids, dtype=HEADING_ID_DTYPE))
        self._writers["mesh_offsets.bin"].append(np.asarray(mesh_ends, np.int64) + self._mesh_end)
        self._mesh_end += len(heading_ids)
        self.documents += len(batch)

    def _heading(self, ui: str) -> int:
        heading = self._heading_id.get(ui)
        if heading is None:
            heading = self._heading_id[ui] = len(self._heading_id)
            self._documents_with.append(0)
            self._occurrences.append(0)
        return heading

    def _append_blob(self, blob: str, offsets: str, values: list[bytes], end: int) -> int:
        self._writers[blob].write_bytes(b"".join(values))
        lengths = np.fromiter((len(value) for value in values), np.int64, len(values))
        self._writers[offsets].append(np.cumsum(lengths) + end)
        return end + int(lengths.sum())

    def close(self) -> dict[str, Any]:
        """Write the heading vocabulary and counts; returns the manifest's array entries."""
        self._writers["mesh_document_counts.bin"].append(self._documents_with)
        self._writers["mesh_occurrences.bin"].append(self._occurrences)
        (self._folder / MESH_VOCABULARY_NAME).write_text(
            json.dumps(list(self._heading_id)) + "\n", encoding="utf-8"
        )
        return {name: writer.close() for name, writer in self._writers.items()}

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()


class _PmidColumn:
    """PMIDs by row, as a sequence ``bisect`` can search (rows are in PMID order)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> str:
        start, stop = int(self._offsets[row]), int(self._offsets[row + 1])
        return bytes(self._blob[start:stop]).decode("utf-8")


class DocumentStore:
    """Read-only, memory-mapped view of the documents an index was built from."""

    def __init__(self, folder: Path, arrays: dict[str, Any], documents: int, rerun: str) -> None:
        self.folder = folder
        opened = {name: open_array(folder, name, arrays.get(name), rerun) for name in ARRAYS}
        for name in ("pmid_offsets.bin", "mesh_offsets.bin"):
            if len(opened[name]) != documents + 1:
                raise InputError(str(folder / name), f"does not hold {documents} rows; {rerun}")
        if len(opened["text_offsets.bin"]) != 2 * documents + 1:
            raise InputError(str(folder / "text_offsets.bin"), f"wrong length; {rerun}")
        self._pmids = _PmidColumn(opened["pmids.bin"], opened["pmid_offsets.bin"])
        self._text = opened["text.bin"]
        self._text_offsets = opened["text_offsets.bin"]
        self._mesh_ids = opened["mesh_ids.bin"]
        self._mesh_offsets = opened["mesh_offsets.bin"]
        self._documents_with = opened["mesh_document_counts.bin"]
        self._occurrences = opened["mesh_occurrences.bin"]
        vocabulary_path = folder / MESH_VOCABULARY_NAME
        try:
            self._vocabulary: list[str] = json.loads(vocabulary_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(str(vocabulary_path), f"unreadable: {error}; {rerun}") from error
        if len(self._vocabulary) != len(self._documents_with):
            raise InputError(str(vocabulary_path), f"does not match the heading counts; {rerun}")

    def __len__(self) -> int:
        return len(self._pmids)

    def pmid(self, row: int) -> str:
        return self._pmids[row]

    def row_of(self, pmid: str) -> int | None:
        row = bisect.bisect_left(self._pmids, pmid)
        return row if row < len(self._pmids) and self._pmids[row] == pmid else None

    def _text_field(self, index: int) -> str:
        start, stop = int(self._text_offsets[index]), int(self._text_offsets[index + 1])
        return bytes(self._text[start:stop]).decode("utf-8")

    def mesh_uis(self, row: int) -> tuple[str, ...]:
        start, stop = int(self._mesh_offsets[row]), int(self._mesh_offsets[row + 1])
        return tuple(self._vocabulary[heading] for heading in self._mesh_ids[start:stop].tolist())

    def document(self, row: int) -> IndexedDocument:
        return IndexedDocument(
            pmid=self.pmid(row),
            title=self._text_field(2 * row),
            abstract=self._text_field(2 * row + 1),
            mesh_uis=self.mesh_uis(row),
        )

    def __iter__(self) -> Iterator[IndexedDocument]:
        return (self.document(row) for row in range(len(self)))

    def iter_annotations(self) -> Iterator[tuple[str, ...]]:
        return (self.mesh_uis(row) for row in range(len(self)))

    def annotation_counts(self) -> AnnotationCounts:
        return AnnotationCounts(
            documents=len(self),
            documents_with=dict(zip(self._vocabulary, self._documents_with.tolist(), strict=True)),
            occurrences=dict(zip(self._vocabulary, self._occurrences.tolist(), strict=True)),
        )
