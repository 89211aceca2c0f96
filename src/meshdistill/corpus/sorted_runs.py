"""External merge sort of table rows: memory bounded by settings, not by the number of rows.

Rows are buffered up to ``batch_rows``, sorted (by Arrow, in C++) and written as a *run* (a
Parquet file in small row groups); the runs are then merged lazily, ``fan_in`` at a time, each
holding one row group of ``read_rows`` rows in memory. When there are more runs than ``fan_in``
they are first merged into longer runs, so the files open at once stay bounded too.
Keys compare as Python values; string keys here are ASCII (PMIDs, descriptor UIs), for which
Arrow's byte order and Python's code-point order agree.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Row = dict[str, Any]


@dataclass(frozen=True)
class RunLayout:
    """How runs are sized: rows sorted in memory, rows read per run while merging, runs merged
    at once."""

    batch_rows: int
    read_rows: int
    fan_in: int


def _write_rows(path: Path, rows: Iterable[Row], schema: pa.Schema, group_rows: int) -> None:
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        chunk: list[Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= group_rows:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))


def _read_rows(path: Path) -> Iterator[Row]:
    # Row group by row group: ParquetFile.iter_batches reads ahead far beyond one batch (tens
    # of MB per file), which times merge_fan_in open runs would undo the memory bound.
    with pq.ParquetFile(path) as run:
        for group in range(run.metadata.num_row_groups):
            yield from run.read_row_group(group).to_pylist()


class ArrowBuffer:
    """Rows collected as Arrow: Python objects only ``chunk_rows`` at a time, then converted
    (several times smaller than the dicts), so holding many rows costs about their Arrow size."""

    def __init__(self, schema: pa.Schema, chunk_rows: int) -> None:
        self.schema = schema
        self.chunk_rows = chunk_rows
        self.rows = 0
        self._pending: list[Row] = []
        self._chunks: list[pa.Table] = []

    def add(self, row: Row) -> None:
        self._pending.append(row)
        self.rows += 1
        if len(self._pending) >= self.chunk_rows:
            self._convert_pending()

    def _convert_pending(self) -> None:
        if self._pending:
            self._chunks.append(pa.Table.from_pylist(self._pending, schema=self.schema))
            self._pending = []

    def take(self) -> pa.Table | None:
        """Every row added since the last take, as one table (None when there are none)."""
        self._convert_pending()
        if not self._chunks:
            return None
        table = pa.concat_tables(self._chunks)
        self._chunks, self.rows = [], 0
        return table


class SortedRuns:
    """Collects rows into sorted runs under ``folder``; :meth:`merged` yields them all in key
    order."""

    def __init__(
        self,
        folder: Path,
        name: str,
        schema: pa.Schema,
        keys: Sequence[str],
        layout: RunLayout,
    ) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.keys = list(keys)
        self.layout = layout
        self._buffer = ArrowBuffer(schema, layout.read_rows)
        self._runs: list[Path] = []
        self._written = 0  # run files created so far: names stay unique across merge passes

    def add(self, row: Row) -> None:
        self._buffer.add(row)
        if self._buffer.rows >= self.layout.batch_rows:
            self._flush()

    def _next_path(self) -> Path:
        self._written += 1
        return self.folder / f"{self.name}-{self._written:06d}.parquet"

    def _flush(self) -> None:
        table = self._buffer.take()
        if table is None:
            return
        table = table.sort_by([(key, "ascending") for key in self.keys])
        path = self._next_path()
        with pq.ParquetWriter(path, self.schema, compression="none") as writer:
            writer.write_table(table, row_group_size=self.layout.read_rows)
        self._runs.append(path)

    def _merge(self, runs: Sequence[Path]) -> Iterator[Row]:
        streams = [_read_rows(path) for path in runs]
        return heapq.merge(*streams, key=itemgetter(*self.keys))

    def merged(self) -> Iterator[Row]:
        """Every row added, in key order (ties keep no particular order: make keys unique)."""
        self._flush()
        runs = self._runs
        fan_in = max(2, self.layout.fan_in)
        while len(runs) > fan_in:
            longer: list[Path] = []
            for start in range(0, len(runs), fan_in):
                group = runs[start : start + fan_in]
                path = self._next_path()
                _write_rows(path, self._merge(group), self.schema, self.layout.read_rows)
                for done in group:
                    done.unlink()
                longer.append(path)
            runs = longer
        self._runs = []
        return self._merge(runs)
