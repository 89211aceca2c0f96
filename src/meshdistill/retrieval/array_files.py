"""Flat arrays of an index folder: raw little-endian files written by appending, described in
the manifest (dtype and length), and opened as read-only memory maps.

Appending keeps a build's memory at one batch whatever the array's final size, and a memory
map opens in microseconds: a job pages in only what it reads.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from meshdistill.errors import InputError


class ArrayWriter:
    """Appends arrays of one dtype to ``folder/name``."""

    def __init__(self, folder: Path, name: str, dtype: str) -> None:
        self.name = name
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._handle: BinaryIO = (folder / name).open("wb")

    def append(self, values: Any) -> None:
        array = np.ascontiguousarray(values, dtype=self.dtype)
        self._handle.write(array.tobytes())
        self.length += int(array.size)

    def write_bytes(self, data: bytes) -> None:
        """For byte blobs (dtype ``u1``): append raw bytes."""
        self._handle.write(data)
        self.length += len(data)

    def close(self) -> dict[str, Any]:
        """Close the file; returns its manifest entry."""
        self._handle.close()
        return {"dtype": self.dtype.str, "length": self.length}

    def __enter__(self) -> ArrayWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._handle.close()


def open_array(folder: Path, name: str, spec: Any, rerun: str) -> np.ndarray:
    """The read-only memory map of ``folder/name`` described by ``spec`` (its manifest entry);
    :class:`InputError` naming the file and ``rerun`` (what rebuilds it) if it is missing or its
    size disagrees with the manifest."""
    path = folder / name
    try:
        dtype = np.dtype(spec["dtype"])
        length = int(spec["length"])
    except (KeyError, TypeError) as error:
        raise InputError(str(path), f"manifest entry {spec!r} is malformed; {rerun}") from error
    if not path.is_file():
        raise InputError(str(path), f"index file is missing; {rerun}")
    size = path.stat().st_size
    if size != length * dtype.itemsize:
        raise InputError(
            str(path),
            f"holds {size} bytes but the manifest says {length} x {dtype.itemsize}; "
            f"the index is corrupt or incomplete; {rerun}",
        )
    if length == 0:
        return np.empty(0, dtype=dtype)  # an empty file cannot be memory-mapped
    return np.memmap(path, dtype=dtype, mode="r", shape=(length,))


def read_slice(path: Path, dtype: np.dtype, start: int, stop: int) -> np.ndarray:
    """Elements ``start:stop`` of a raw array file, read (not mapped) so a build's resident
    memory stays what it holds, not what it has touched."""
    count = stop - start
    if count <= 0:
        return np.empty(0, dtype=dtype)
    return np.fromfile(path, dtype=dtype, count=count, offset=start * dtype.itemsize)
