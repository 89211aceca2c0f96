"""Turn corpus files into one articles table and a descriptor index, in bounded memory.

Newest version of a PMID wins, by the rule of :func:`meshdistill.pubmed.corpus.latest_versions`
(a later revision date wins; without dates the version met later in the input). Applying that
rule needs all versions of a PMID side by side, which an external sort by (PMID, input
position) gives: memory stays bounded by the :class:`IngestSettings` whatever the corpus size,
where a PMID -> version map would grow with the corpus (tens of bytes per PMID in Arrow, a few
hundred as Python objects: gigabytes at PubMed size). The sort also leaves the table in PMID
order, so row-group statistics find a PMID's row group without reading the others. The index
rows are sorted the same way, by descriptor then PMID.

The output is byte-identical for the same inputs and settings: rows are ordered by unique keys,
Parquet is written without timestamps, and the manifest is canonical JSON.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from meshdistill.corpus.layout import ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE
from meshdistill.corpus.manifest import CorpusManifest, IngestSettings
from meshdistill.corpus.sorted_runs import ArrowBuffer, Row, RunLayout, SortedRuns
from meshdistill.corpus.table_schema import (
    ARTICLE_SCHEMA,
    ORDINAL,
    POSTING_SCHEMA,
    article_row,
)
from meshdistill.fileio import default_file_mode, file_sha256
from meshdistill.pubmed.corpus import CorpusReport, iter_corpus, replaces
from meshdistill.pubmed.filtering import NameToUi

_RUN_SCHEMA = ARTICLE_SCHEMA.append(pa.field(ORDINAL, pa.int64()))


class _TableWriter:
    """Rows into a Parquet file in row groups of ``group_rows``, renamed into place on close."""

    def __init__(self, path: Path, schema: pa.Schema, group_rows: int, chunk_rows: int) -> None:
        self.path = path
        self.group_rows = group_rows
        self.rows = 0
        self._partial = path.with_name(f".{path.name}.partial")
        self._writer = pq.ParquetWriter(self._partial, schema)
        self._buffer = ArrowBuffer(schema, chunk_rows)

    def add(self, row: Row) -> None:
        self._buffer.add(row)
        if self._buffer.rows >= self.group_rows:
            self._write_group()

    def _write_group(self) -> None:
        table = self._buffer.take()
        if table is not None:
            self._writer.write_table(table, row_group_size=self.group_rows)
            self.rows += table.num_rows

    def close(self) -> None:
        self._write_group()
        self._writer.close()
        os.chmod(self._partial, default_file_mode())
        os.replace(self._partial, self.path)

    def abandon(self) -> None:
        self._writer.close()
        self._partial.unlink(missing_ok=True)


def _newest_versions(sorted_versions: Iterable[Row], report: CorpusReport) -> Iterator[Row]:
    """One row per PMID from rows sorted by (PMID, input position)."""
    for _pmid, group in itertools.groupby(sorted_versions, key=lambda row: row["pmid"]):
        newest, *later = group
        for version in later:
            report.duplicates_replaced += 1
            if replaces(version["revised"], newest["revised"]):
                newest = version
        del newest[ORDINAL]
        yield newest


def _is_major(heading: dict[str, Any]) -> bool:
    return bool(heading["major_topic"]) or any(q["major_topic"] for q in heading["qualifiers"])


def _postings(row: Row) -> list[Row]:
    """Index rows of one article: each descriptor once, major when any of its headings is."""
    major: dict[str, bool] = {}
    for heading in row["mesh_headings"]:
        if heading["ui"]:
            major[heading["ui"]] = major.get(heading["ui"], False) or _is_major(heading)
    return [{"descriptor_ui": ui, "pmid": row["pmid"], "major": m} for ui, m in major.items()]


def ingest_corpus(
    paths: Sequence[str | Path],
    output_dir: str | Path,
    *,
    fmt: str = "auto",
    name_to_ui: NameToUi | None = None,
    settings: IngestSettings | None = None,
) -> CorpusManifest:
    """Read ``paths`` (see :func:`meshdistill.pubmed.corpus.iter_corpus` for formats, name
    mapping and which records are kept) into ``output_dir``: ``articles.parquet`` (one row per
    PMID, in PMID string order), ``by_descriptor.parquet`` (descriptor UI, PMID, major, sorted
    by descriptor then PMID) and ``manifest.json``. Bad input raises InputError naming the file.
    """
    settings = settings or IngestSettings()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = CorpusReport()
    merge = dict(read_rows=settings.merge_read_rows, fan_in=settings.merge_fan_in)
    with tempfile.TemporaryDirectory(dir=out, prefix=".ingest-") as scratch:
        versions = SortedRuns(
            Path(scratch),
            "articles",
            _RUN_SCHEMA,
            ["pmid", ORDINAL],
            RunLayout(batch_rows=settings.batch_rows, **merge),
        )
        corpus = iter_corpus(paths, fmt=fmt, name_to_ui=name_to_ui, report=report)
        for ordinal, article in enumerate(corpus):
            versions.add({**article_row(article), ORDINAL: ordinal})

        postings = SortedRuns(
            Path(scratch),
            "postings",
            POSTING_SCHEMA,
            ["descriptor_ui", "pmid"],
            RunLayout(batch_rows=settings.index_batch_rows, **merge),
        )
        articles = _TableWriter(
            out / ARTICLES_FILE, ARTICLE_SCHEMA, settings.batch_rows, settings.merge_read_rows
        )
        major_flags_seen = False
        try:
            for row in _newest_versions(versions.merged(), report):
                articles.add(row)
                major_flags_seen = major_flags_seen or any(map(_is_major, row["mesh_headings"]))
                for posting in _postings(row):
                    postings.add(posting)
        except BaseException:
            articles.abandon()
            raise
        articles.close()
        report.kept = articles.rows

        index = _TableWriter(
            out / INDEX_FILE, POSTING_SCHEMA, settings.index_batch_rows, settings.merge_read_rows
        )
        descriptors = 0
        try:
            for _ui, _rows in itertools.groupby(
                postings.merged(), key=lambda r: r["descriptor_ui"]
            ):
                descriptors += 1
                for posting in _rows:
                    index.add(posting)
        except BaseException:
            index.abandon()
            raise
        index.close()

    manifest = CorpusManifest(
        articles=articles.rows,
        postings=index.rows,
        descriptors=descriptors,
        major_flags_seen=major_flags_seen,
        report=report.to_dict(),
        sha256={name: file_sha256(out / name) for name in (ARTICLES_FILE, INDEX_FILE)},
        settings=asdict(settings),
    )
    manifest.write(out / MANIFEST_FILE)
    return manifest
