"""Headings left out of the knowledge-hierarchy score (``scoring.exclude_headings``).

MEDLINE check tags (Humans, Female, Aged, ...) are indexed on nearly every article whatever its
topic; in an all-pairs mean they pull every retrieved context towards the same score. The
setting lists entries that are either the name ``check_tags`` (NLM's list, read from
``scoring.check_tags_file``; its source is stated in ``data/mesh/README.md``) or descriptor UIs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from meshdistill.errors import ConfigError, InputError

CHECK_TAGS = "check_tags"
_COMMENT = "#"
_COLUMNS = ("ui", "name", "group")


def read_check_tags(path: str | Path) -> dict[str, str]:
    """UI -> name of every check tag in a ``ui<TAB>name<TAB>group`` file (``#`` comments)."""
    source = Path(path)
    if not source.is_file():
        raise ConfigError("scoring.check_tags_file", f"file '{source}' does not exist")
    with source.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith(_COMMENT)]
    rows = list(csv.reader(lines, delimiter="\t"))
    if not rows or tuple(rows[0]) != _COLUMNS:
        raise InputError(str(source), f"the header must be {'/'.join(_COLUMNS)}", "line 1")
    tags: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(_COLUMNS) or not row[0].startswith("D"):
            raise InputError(str(source), "expected a UI, a name and a group", f"row {number}")
        tags[row[0]] = row[1]
    return tags


def excluded_headings(entries: Iterable[str], check_tags_file: str | Path) -> frozenset[str]:
    """The UIs named by ``entries`` (``check_tags`` expands to the check-tag list)."""
    excluded: set[str] = set()
    for entry in entries:
        if entry == CHECK_TAGS:
            excluded.update(read_check_tags(check_tags_file))
        elif entry.startswith("D") and entry[1:].isdigit():
            excluded.add(entry)
        else:
            raise ConfigError(
                "scoring.exclude_headings",
                f"'{entry}' is neither '{CHECK_TAGS}' nor a descriptor UI (D followed by digits)",
            )
    return frozenset(excluded)
