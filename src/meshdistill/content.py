"""Open input files (corpora, MeSH data) by what they contain, not by their names.

A gzipped file is recognised by its first two bytes, whatever its suffix (downloads get
renamed). An HTML page (an error or login page saved in place of a download) is recognised by
its first tag, so readers can say so instead of reading it as an empty file.
"""

from __future__ import annotations

import gzip
import io
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

from meshdistill.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_HTML_STARTS = (b"<!doctype html", b"<html")
#: How far into a file to look for the first tag.
SNIFF_BYTES = 1024


def looks_like_html(head: bytes) -> bool:
    """Whether data starting with ``head`` is an HTML page rather than XML or text data."""
    return head[:SNIFF_BYTES].lstrip(_BYTE_ORDER_MARK + b" \t\r\n").lower().startswith(_HTML_STARTS)


def gunzip_if_compressed(raw: BinaryIO, closer: ExitStack) -> BinaryIO:
    """``raw`` itself, or a decompressing reader over it when it starts with gzip's magic."""
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(cast(Any, raw))
    if buffered.peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] == GZIP_MAGIC:
        # GzipFile can peek too, so callers can look at the decompressed start.
        return cast(BinaryIO, closer.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb")))
    return cast(BinaryIO, buffered)


def open_file(path: Path) -> BinaryIO:
    """The decompressed bytes of ``path`` as a stream that can peek and closes the file with
    itself; InputError naming the file when it cannot be opened."""
    try:
        with open(path, "rb") as probe:
            compressed = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        if compressed:
            return cast(BinaryIO, gzip.open(path, "rb"))
        return open(path, "rb")
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from None


def open_binary(path: Path, closer: ExitStack) -> BinaryIO:
    """:func:`open_file`, closed with ``closer``."""
    return cast(BinaryIO, closer.enter_context(open_file(path)))


def open_text(path: Path, closer: ExitStack, encoding: str = "utf-8") -> TextIO:
    """The decompressed text of ``path``; decoding errors surface while reading."""
    binary = open_binary(path, closer)
    return cast(TextIO, closer.enter_context(io.TextIOWrapper(binary, encoding=encoding)))


def peek_head(stream: BinaryIO) -> bytes:
    """The first bytes of a stream from :func:`open_binary`, without consuming them."""
    peek = getattr(stream, "peek", None)
    return bytes(peek(SNIFF_BYTES)[:SNIFF_BYTES]) if peek is not None else b""
