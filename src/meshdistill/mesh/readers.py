"""Streaming readers for NLM's MeSH distribution formats, each yielding DescriptorRecord.

Every reader holds at most one descriptor's worth of the file at a time, so memory stays flat in
the file's size (the yearly descriptor XML is about 300 MB):

* Descriptor XML (``descYYYY.xml``, plain or gzip): parsed with ``xml.etree.ElementTree.iterparse``
  and each ``DescriptorRecord`` element is discarded once read. The ``<!DOCTYPE ...
  "descYYYY.dtd">`` line is left alone: expat never fetches external DTDs, so a missing DTD is
  harmless and nothing is ever downloaded.
* Tree listing ``mtreesYYYY.bin``: ``Name;TreeNumber`` lines. These carry no UIs, so each
  descriptor gets a synthetic, stable key ``name:<Name>`` (see ``synthetic_ui``).
* NLM's tab-separated hierarchy listing (``MeshTreeHierarchyYYYY.tsv``): a header then
  ``Tree Number<TAB>Desc Ui<TAB>Term`` rows, UTF-8, possibly with a byte-order mark.

The two line formats list one tree number per line; rows of the same descriptor are merged,
keeping tree numbers in file order. Both are small (a few MB), so merging holds one small entry
per descriptor, which is the table being built anyway.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from meshdistill.content import open_file
from meshdistill.errors import InputError
from meshdistill.mesh.descriptor import DescriptorRecord, is_well_formed_tree_number

SYNTHETIC_UI_PREFIX = "name:"
TSV_HEADER_FIELDS = ("tree number", "desc ui", "term")


def synthetic_ui(name: str) -> str:
    """Stable key for a descriptor known only by name (mtrees files carry no UIs).

    The name itself is the key, behind a prefix that no real UI (``D`` + digits) can have: it is
    readable, reproducible from the name alone and unique because MeSH names are unique.
    """
    return f"{SYNTHETIC_UI_PREFIX}{name}"


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing transparently when it is gzip."""
    return open_file(path)


def open_text(path: Path) -> IO[str]:
    # utf-8-sig drops the byte-order mark NLM's TSV listing starts with.
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline="")


def read_descriptor_xml(path: str | Path) -> Iterator[DescriptorRecord]:
    """Stream descriptors from NLM descriptor XML (``DescriptorRecordSet``)."""
    source = Path(path)
    with open_binary(source) as handle:
        events = ElementTree.iterparse(handle, events=("start", "end"))
        root: ElementTree.Element | None = None
        index = 0
        try:
            for event, element in events:
                if root is None:
                    root = element
                    if root.tag != "DescriptorRecordSet":
                        raise InputError(
                            str(source),
                            f"expected a <DescriptorRecordSet> document, found <{root.tag}>",
                        )
                    continue
                if event != "end" or element.tag != "DescriptorRecord":
                    continue
                index += 1
                yield _descriptor_from_element(element, source, index)
                # Detach finished records so the tree being built stays one record deep.
                root.clear()
        except ElementTree.ParseError as error:
            raise InputError(str(source), f"malformed XML: {error}") from error
    if root is None:
        raise InputError(str(source), "empty file, expected a <DescriptorRecordSet> document")


def _descriptor_from_element(
    element: ElementTree.Element, source: Path, index: int
) -> DescriptorRecord:
    # Only direct children: nested DescriptorUI elements (pharmacological actions, see-related
    # references) point at other descriptors.
    ui = (element.findtext("DescriptorUI") or "").strip()
    record_label = ui or f"#{index}"
    if not ui:
        raise InputError(str(source), "DescriptorRecord without DescriptorUI", record_label)
    name = (element.findtext("DescriptorName/String") or "").strip()
    if not name:
        raise InputError(str(source), "DescriptorRecord without DescriptorName", record_label)
    tree_numbers = tuple(
        (node.text or "").strip() for node in element.iterfind("TreeNumberList/TreeNumber")
    )
    for tree_number in tree_numbers:
        _check_tree_number(tree_number, source, record_label)
    terms: list[str] = []
    for node in element.iterfind("ConceptList/Concept/TermList/Term/String"):
        term = (node.text or "").strip()
        if term and term != name and term not in terms:
            terms.append(term)
    return DescriptorRecord(ui, name, tree_numbers, tuple(terms))


def _check_tree_number(tree_number: str, source: Path, record: str) -> None:
    if not is_well_formed_tree_number(tree_number):
        raise InputError(str(source), f"malformed tree number '{tree_number}'", record)


class _Merger:
    """Collects one-tree-number-per-line rows into records, in order of first appearance."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.names: dict[str, str] = {}
        self.tree_numbers: dict[str, list[str]] = {}

    def add(self, ui: str, name: str, tree_number: str, line_number: int) -> None:
        record = f"line {line_number}"
        _check_tree_number(tree_number, self.source, record)
        known_name = self.names.setdefault(ui, name)
        if known_name != name:
            raise InputError(
                str(self.source), f"UI {ui} named both '{known_name}' and '{name}'", record
            )
        self.tree_numbers.setdefault(ui, []).append(tree_number)

    def records(self) -> Iterator[DescriptorRecord]:
        for ui, name in self.names.items():
            yield DescriptorRecord(ui, name, tuple(self.tree_numbers[ui]))


def read_mtrees(path: str | Path) -> Iterator[DescriptorRecord]:
    """Stream an ``mtreesYYYY.bin`` listing (``Name;TreeNumber`` per line); UIs are synthetic."""
    source = Path(path)
    merger = _Merger(source)
    with open_text(source) as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            # Split at the last ';' because the tree number never contains one.
            name, separator, tree_number = text.rpartition(";")
            if not separator or not name.strip():
                raise InputError(str(source), "expected 'Name;TreeNumber'", f"line {line_number}")
            name = name.strip()
            merger.add(synthetic_ui(name), name, tree_number.strip(), line_number)
    yield from merger.records()


def read_tree_tsv(path: str | Path) -> Iterator[DescriptorRecord]:
    """Stream NLM's tab-separated hierarchy listing (``Tree Number``, ``Desc Ui``, ``Term``)."""
    source = Path(path)
    merger = _Merger(source)
    with open_text(source) as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            fields = [field.strip() for field in text.split("\t")]
            if line_number == 1 and tuple(f.lower() for f in fields[:3]) == TSV_HEADER_FIELDS:
                continue
            if len(fields) != len(TSV_HEADER_FIELDS) or not all(fields):
                raise InputError(
                    str(source),
                    "expected three tab-separated fields: Tree Number, Desc Ui, Term",
                    f"line {line_number}",
                )
            tree_number, ui, name = fields
            merger.add(ui, name, tree_number, line_number)
    yield from merger.records()


FORMAT_DESCRIPTOR_XML = "descriptor-xml"
FORMAT_MTREES = "mtrees"
FORMAT_TREE_TSV = "tree-tsv"
FORMAT_PARQUET = "parquet"
PARQUET_MAGIC = b"PAR1"
SNIFF_BYTES = 4096


def detect_format(path: str | Path) -> str:
    """Name the format of a MeSH file, from its suffix where telling, else from its first bytes.

    Suffixes: ``.parquet``; ``.xml``; ``.bin`` (mtrees); ``.tsv``; each optionally with ``.gz``.
    Otherwise the content decides: ``<`` starts XML, a tab in the first line means the TSV
    listing, a ``;`` means mtrees.
    """
    source = Path(path)
    suffixes = [s.lower() for s in source.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    by_suffix = {
        ".parquet": FORMAT_PARQUET,
        ".xml": FORMAT_DESCRIPTOR_XML,
        ".bin": FORMAT_MTREES,
        ".tsv": FORMAT_TREE_TSV,
    }
    if last in by_suffix:
        return by_suffix[last]
    with open_binary(source) as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(PARQUET_MAGIC):
        return FORMAT_PARQUET
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    first_line = text.splitlines()[0] if text else ""
    if text.startswith("<"):
        return FORMAT_DESCRIPTOR_XML
    if "\t" in first_line:
        return FORMAT_TREE_TSV
    if ";" in first_line:
        return FORMAT_MTREES
    raise InputError(
        str(source), "cannot tell the MeSH format (expected descriptor XML, mtrees or TSV listing)"
    )
