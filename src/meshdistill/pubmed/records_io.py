"""Read and write article records in the project's own schema as JSONL or Parquet.

Reading is lenient about records that are merely unusable (no abstract, no headings: the
corpus layer skips and counts those) but strict about records that are broken (bad JSON,
missing PMID, wrong types): those raise :class:`InputError` naming the file and line/row.
Writing is deterministic: keys sorted, records in the order given, UTF-8 without escapes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, cast

from meshdistill.content import open_text
from meshdistill.errors import InputError
from meshdistill.records import Article

DEFAULT_PARQUET_BATCH_ROWS = 4096


def article_from_mapping(data: Any, source: str, where: str) -> Article:
    """Build an Article from a decoded record, raising InputError naming ``source``/``where``."""
    if not isinstance(data, dict):
        raise InputError(source, f"expected a JSON object, got {type(data).__name__}", where)
    if data.get("pmid") in (None, ""):
        raise InputError(source, "record has no pmid", where)
    try:
        return Article.from_dict(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(
            source, f"record does not fit the article schema: {exc!r}", where
        ) from None


def _open_text_for_writing(path: Path, closer: ExitStack) -> IO[str]:
    try:
        handle: Any = open(path, "w", encoding="utf-8", newline="\n")
        return cast(IO[str], closer.enter_context(handle))
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from None


def iter_jsonl(path: str | Path) -> Iterator[Article]:
    """Yield articles from a JSONL file (plain or gzipped, told by content); blank lines are
    ignored."""
    path = Path(path)
    with ExitStack() as closer:
        handle = open_text(path, closer)
        line_no = 0
        try:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        str(path), f"malformed JSON: {exc}", f"line {line_no}"
                    ) from None
                yield article_from_mapping(data, str(path), f"line {line_no}")
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"not UTF-8: {exc}", f"line {line_no + 1}") from None
        except (OSError, EOFError) as exc:  # e.g. a gzip stream cut short
            raise InputError(str(path), f"cannot read: {exc}", f"line {line_no + 1}") from None


def iter_parquet(
    path: str | Path, batch_rows: int = DEFAULT_PARQUET_BATCH_ROWS
) -> Iterator[Article]:
    """Yield articles from a Parquet file written in the article schema, batch by batch."""
    import pyarrow.parquet as pq  # imported lazily: only Parquet users pay for pyarrow

    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read Parquet: {exc}") from None
    row = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            for data in batch.to_pylist():
                row += 1
                yield article_from_mapping(data, str(path), f"row {row}")


def article_json_line(article: Article) -> str:
    """One deterministic JSONL line (sorted keys, no trailing newline)."""
    return json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: str | Path, articles: Iterable[Article]) -> int:
    """Write articles as JSONL (``.gz`` compresses); returns the number written."""
    path = Path(path)
    count = 0
    with ExitStack() as closer:
        if path.name.endswith(".gz"):
            # mtime=0 and no file name keep the gzip header the same on every run and path.
            raw = closer.enter_context(open(path, "wb"))
            binary = closer.enter_context(
                gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0)
            )
            for article in articles:
                binary.write((article_json_line(article) + "\n").encode("utf-8"))
                count += 1
            return count
        handle = _open_text_for_writing(path, closer)
        for article in articles:
            handle.write(article_json_line(article) + "\n")
            count += 1
    return count


def write_parquet(path: str | Path, articles: Iterable[Article]) -> int:
    """Write articles to Parquet with the article schema's columns; returns the count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [article.to_dict() for article in articles]
    qualifier = pa.struct([("ui", pa.string()), ("name", pa.string()), ("major_topic", pa.bool_())])
    schema = pa.schema(
        [
            ("pmid", pa.string()),
            ("title", pa.string()),
            ("abstract", pa.string()),
            (
                "abstract_sections",
                pa.list_(pa.struct([("label", pa.string()), ("text", pa.string())])),
            ),
            (
                "mesh_headings",
                pa.list_(
                    pa.struct(
                        [
                            ("ui", pa.string()),
                            ("name", pa.string()),
                            ("major_topic", pa.bool_()),
                            ("qualifiers", pa.list_(qualifier)),
                        ]
                    )
                ),
            ),
            ("year", pa.int64()),
            ("journal", pa.string()),
            ("publication_types", pa.list_(pa.string())),
            ("language", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), Path(path))
    return len(rows)
