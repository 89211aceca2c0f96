"""The descriptor table as Parquet, and a load cache keyed by the source file's identity.

Table columns: ``ui``, ``name``, ``tree_numbers`` (list), ``entry_terms`` (list),
``categories`` (list of letters, derived) and ``depth`` (derived, min over tree numbers). Rows
are sorted by UI so that the same tree always writes the same bytes.

Cache key: sha256 over (layout version, resolved source path, size in bytes, modification time
in nanoseconds). Hashing the content instead would cost about a second per 300 MB, which alone
would break the half-second budget for a cached load; a file rewritten in place gets a new
mtime, and a copy elsewhere a new path, so either misses the cache rather than reading stale
data.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from meshdistill.errors import InputError
from meshdistill.fileio import default_file_mode
from meshdistill.mesh.descriptor import DescriptorRecord

# Bump when the table's columns or their meaning change, so old caches are not read.
TABLE_LAYOUT_VERSION = "1"
CACHE_KEY_LENGTH = 16

_SCHEMA = pa.schema(
    [
        ("ui", pa.string()),
        ("name", pa.string()),
        ("tree_numbers", pa.list_(pa.string())),
        ("entry_terms", pa.list_(pa.string())),
        ("categories", pa.list_(pa.string())),
        ("depth", pa.int32()),
    ],
    metadata={"meshdistill.mesh_table_layout": TABLE_LAYOUT_VERSION},
)
_REQUIRED_COLUMNS = ("ui", "name", "tree_numbers", "entry_terms")


def write_table(records: Iterable[DescriptorRecord], path: str | Path) -> None:
    """Write records as Parquet, atomically (a reader never sees a half-written file)."""
    ordered = sorted(records, key=lambda record: record.ui)
    table = pa.table(
        {
            "ui": [r.ui for r in ordered],
            "name": [r.name for r in ordered],
            "tree_numbers": [list(r.tree_numbers) for r in ordered],
            "entry_terms": [list(r.entry_terms) for r in ordered],
            "categories": [sorted(r.categories) for r in ordered],
            "depth": [r.depth for r in ordered],
        },
        schema=_SCHEMA,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        os.chmod(temporary, default_file_mode())  # not mkstemp's 0600: like any other output
        pq.write_table(table, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_table(path: str | Path) -> list[DescriptorRecord]:
    source = Path(path)
    try:
        table = pq.read_table(source, columns=list(_REQUIRED_COLUMNS))
    except (OSError, pa.ArrowException) as error:
        raise InputError(str(source), f"cannot read the MeSH descriptor table: {error}") from error
    uis = table.column("ui").to_pylist()
    names = table.column("name").to_pylist()
    tree_numbers = _list_column(table, "tree_numbers")
    entry_terms = _list_column(table, "entry_terms")
    records = []
    for ui, name, numbers, terms in zip(uis, names, tree_numbers, entry_terms, strict=True):
        if not ui or not name:
            raise InputError(str(source), "row without UI or name", ui or None)
        records.append(DescriptorRecord(ui, name, numbers, terms))
    return records


def _list_column(table: pa.Table, name: str) -> list[tuple[str, ...]]:
    # Converting the flat values once and slicing by offsets is several times faster than
    # letting Arrow build one Python list per row.
    column = table.column(name).combine_chunks()
    offsets = column.offsets.to_pylist()
    values = column.flatten().to_pylist()
    return [tuple(values[start:end]) for start, end in zip(offsets, offsets[1:], strict=False)]


def cache_key(source: str | Path) -> str:
    resolved = Path(source).resolve()
    try:
        stat = resolved.stat()
    except OSError as error:
        raise InputError(str(source), f"cannot stat: {error.strerror or error}") from error
    identity = f"{TABLE_LAYOUT_VERSION}\0{resolved}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:CACHE_KEY_LENGTH]


def cache_path(source: str | Path, cache_dir: str | Path) -> Path:
    """Where the cached table for ``source`` lives: ``<cache_dir>/<file name>.<key>.parquet``."""
    return Path(cache_dir) / f"{Path(source).name}.{cache_key(source)}.parquet"
