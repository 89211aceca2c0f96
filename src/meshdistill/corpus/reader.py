"""Read a corpus table: one descriptor's postings, some PMIDs' articles, or every document.

Both tables are sorted by the column a reader looks up (descriptor UI, PMID), so each row
group's min/max statistics say whether it can hold a wanted value: a lookup reads the Parquet
footer and the few row groups that can, whatever the size of the corpus.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from meshdistill.corpus.layout import ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE
from meshdistill.corpus.manifest import CorpusManifest
from meshdistill.corpus.table_schema import article_from_row
from meshdistill.errors import InputError
from meshdistill.records import AbstractSection, Article
from meshdistill.retrieval.documents import IndexedDocument


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError(
            str(path), "missing: build the corpus table first (the workflow's corpus rule)"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read Parquet ({exc}); rebuild the corpus") from None


def row_groups_holding(parquet: pq.ParquetFile, column: str, values: Sequence[str]) -> list[int]:
    """The row groups whose min/max statistics of ``column`` admit one of ``values``
    (sorted ascending); a row group without statistics is always included."""
    index = parquet.schema_arrow.get_field_index(column)
    groups = []
    for group in range(parquet.metadata.num_row_groups):
        stats = parquet.metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            groups.append(group)
            continue
        first = bisect.bisect_left(values, stats.min)
        if first < len(values) and values[first] <= stats.max:
            groups.append(group)
    return groups


def _read_matching(
    path: Path, column: str, values: Sequence[str], columns: list[str] | None
) -> pa.Table:
    wanted = sorted(set(values))
    with _open(path) as parquet:
        groups = row_groups_holding(parquet, column, wanted) if wanted else []
        table = parquet.read_row_groups(groups, columns=columns)
    return table.filter(pc.is_in(table[column], value_set=pa.array(wanted, pa.string())))


@dataclass(frozen=True)
class Posting:
    pmid: str
    major: bool  # the descriptor is a major topic of the article


class CorpusTable:
    """A built corpus folder (``articles.parquet``, ``by_descriptor.parquet``, manifest)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest = CorpusManifest.read(self.folder / MANIFEST_FILE)

    @property
    def articles_path(self) -> Path:
        return self.folder / ARTICLES_FILE

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_FILE

    def postings(self, ui: str) -> list[Posting]:
        """The articles indexed with descriptor ``ui``, in PMID (string) order."""
        table = _read_matching(
            self.index_path, "descriptor_ui", [ui], ["descriptor_ui", "pmid", "major"]
        )
        return [
            Posting(pmid, major)
            for pmid, major in zip(
                table["pmid"].to_pylist(), table["major"].to_pylist(), strict=True
            )
        ]

    def articles(self, pmids: Sequence[str]) -> list[Article]:
        """The articles of ``pmids`` in the order given; PMIDs not in the table are left out."""
        table = _read_matching(self.articles_path, "pmid", pmids, None)
        found = {row["pmid"]: row for row in table.to_pylist()}
        return [article_from_row(found[pmid]) for pmid in pmids if pmid in found]


def _batches(
    parquet: pq.ParquetFile, batch_rows: int, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``batch_rows`` rows, one row group read at a time (unlike
    ``iter_batches``, which reads far ahead of the batch it yields)."""
    for group in range(parquet.metadata.num_row_groups):
        yield from parquet.read_row_group(group, columns=columns).to_batches(
            max_chunksize=batch_rows
        )


_DOCUMENT_COLUMNS = ["pmid", "title", "abstract_sections", "heading_uis"]


def iter_documents(table: str | Path, batch_rows: int) -> Iterator[IndexedDocument]:
    """Every document of an articles table (``articles.parquet`` or the folder holding it), in
    PMID (string) order: one row group in memory as Arrow (``corpus.batch_rows`` rows at
    ingest), at most ``batch_rows`` of them as Python objects at once."""
    path = Path(table)
    if path.is_dir():
        path = path / ARTICLES_FILE
    with _open(path) as parquet:
        for batch in _batches(parquet, batch_rows, _DOCUMENT_COLUMNS):
            for row in batch.to_pylist():
                sections = [
                    AbstractSection(s["label"], s["text"]) for s in row["abstract_sections"]
                ]
                abstract = Article(row["pmid"], row["title"], sections, []).abstract
                yield IndexedDocument(
                    row["pmid"], row["title"], abstract, tuple(row["heading_uis"])
                )
