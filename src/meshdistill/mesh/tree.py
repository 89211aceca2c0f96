"""The MeSH hierarchy: one table of descriptors with look-ups and tree navigation.

Descriptors form a polyhierarchy: one descriptor may own several tree numbers, in several
branches and categories. A descriptor's parents are the owners of its tree numbers' parents;
ancestors and descendants are the closures over those links (so they follow every place a
descriptor appears). The lowest common ancestors and subtrees are read off tree numbers
directly. Loading builds only three dictionaries and a sorted list of tree numbers (the child
index waits for first use), so a cached full MeSH loads in a fraction of a second.
"""

from __future__ import annotations

import difflib
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from meshdistill.errors import ConfigError, InputError, UnknownDescriptorError
from meshdistill.mesh import parquet_cache, readers
from meshdistill.mesh.descriptor import (
    TREE_NUMBER_SEPARATOR,
    DescriptorRecord,
    category_of,
    common_prefix_depth,
    parent_tree_number,
    tree_depth,
)

HEADING_QUALIFIER_SEPARATOR = "/"
MAJOR_TOPIC_MARK = "*"
#: How many close names an unknown-name error suggests, and how close they must be (difflib).
SUGGESTED_NAMES = 3
SUGGESTION_CUTOFF = 0.6
# Typographic look-alikes that NFKC leaves alone but MeSH names spell in ASCII.
_ASCII_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (the usual curly apostrophe)
        "\u201b": "'",
        "\u2032": "'",  # prime
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # no-break hyphen
        "\u2012": "-",
        "\u2013": "-",  # en dash
    }
)


class MeshTree:
    """Descriptor table plus indexes by name (with entry terms) and by tree number."""

    def __init__(self, records: Iterable[DescriptorRecord], source: str = "<records>") -> None:
        self._source = source
        self._records: dict[str, DescriptorRecord] = {}
        self._ui_by_tree_number: dict[str, str] = {}
        for record in records:
            self._add(record)
        self._uis = tuple(sorted(self._records))
        self._sorted_tree_numbers = sorted(self._ui_by_tree_number)
        self._ui_by_name = self._build_name_index()
        self._children: dict[str, tuple[tuple[str, str], ...]] | None = None

    def _add(self, record: DescriptorRecord) -> None:
        if not record.ui or not record.name:
            raise InputError(self._source, "descriptor without UI or name", record.ui or None)
        if record.ui in self._records:
            raise InputError(self._source, "UI listed twice", record.ui)
        for tree_number in record.tree_numbers:
            owner = self._ui_by_tree_number.setdefault(tree_number, record.ui)
            if owner != record.ui:
                raise InputError(
                    self._source, f"tree number {tree_number} also belongs to {owner}", record.ui
                )
        self._records[record.ui] = record

    def _build_name_index(self) -> dict[str, str]:
        # Preferred names win over entry terms; among entry terms shared by several descriptors
        # the smallest UI wins, so the mapping never depends on file order.
        index: dict[str, str] = {}
        for ui in self._uis:
            index.setdefault(_name_key(self._records[ui].name), ui)
        for ui in self._uis:
            for term in self._records[ui].entry_terms:
                index.setdefault(_name_key(term), ui)
        return index

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_records(cls, records: Iterable[DescriptorRecord]) -> MeshTree:
        return cls(records)

    @classmethod
    def from_descriptor_xml(cls, path: str | Path) -> MeshTree:
        return cls(readers.read_descriptor_xml(path), source=str(path))

    @classmethod
    def from_mtrees(cls, path: str | Path) -> MeshTree:
        """Load ``Name;TreeNumber`` lines; UIs are synthetic ``name:<Name>`` keys (no UIs there)."""
        return cls(readers.read_mtrees(path), source=str(path))

    @classmethod
    def from_tree_tsv(cls, path: str | Path) -> MeshTree:
        return cls(readers.read_tree_tsv(path), source=str(path))

    @classmethod
    def from_parquet(cls, path: str | Path) -> MeshTree:
        return cls(parquet_cache.read_table(path), source=str(path))

    def to_parquet(self, path: str | Path) -> None:
        parquet_cache.write_table(self.records(), path)

    @classmethod
    def load(cls, path: str | Path, cache_dir: str | Path | None = None) -> MeshTree:
        """Load any supported format (detected); with ``cache_dir``, go through a Parquet cache.

        The cache file is keyed by the source's path, size and modification time (see
        ``parquet_cache``), written on a miss and read on a hit.
        """
        kind = readers.detect_format(path)
        if kind == readers.FORMAT_PARQUET:
            return cls.from_parquet(path)
        cached = parquet_cache.cache_path(path, cache_dir) if cache_dir is not None else None
        if cached is not None and cached.is_file():
            tree = cls.from_parquet(cached)
            tree._source = str(path)  # errors name the file the user configured, not the cache
            return tree
        loaders = {
            readers.FORMAT_DESCRIPTOR_XML: cls.from_descriptor_xml,
            readers.FORMAT_MTREES: cls.from_mtrees,
            readers.FORMAT_TREE_TSV: cls.from_tree_tsv,
        }
        tree = loaders[kind](path)
        if cached is not None:
            tree.to_parquet(cached)
        return tree

    # ----------------------------------------------------------------- table access
    def __contains__(self, ui: object) -> bool:
        return ui in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"MeshTree({len(self)} descriptors from {self._source})"

    @property
    def uis(self) -> tuple[str, ...]:
        return self._uis

    @property
    def source(self) -> str:
        return self._source

    def records(self) -> Iterator[DescriptorRecord]:
        """All descriptors, sorted by UI."""
        return (self._records[ui] for ui in self._uis)

    def record(self, ui: str) -> DescriptorRecord:
        return self._records[self.resolve_ui(ui)]

    def name(self, ui: str) -> str:
        return self.record(ui).name

    def tree_numbers(self, ui: str) -> tuple[str, ...]:
        return self.record(ui).tree_numbers

    def categories(self, ui: str) -> frozenset[str]:
        return self.record(ui).categories

    def depth(self, ui: str) -> int:
        """Smallest depth over the descriptor's tree numbers (``C04`` is 1); 0 if it has none."""
        return self.record(ui).depth

    @property
    def all_categories(self) -> tuple[str, ...]:
        return tuple(sorted({category_of(tn) for tn in self._ui_by_tree_number}))

    # ----------------------------------------------------------------- look-ups
    def resolve_ui(self, ui: str) -> str:
        if ui in self._records:
            return ui
        stripped = ui.strip() if isinstance(ui, str) else ui
        if stripped in self._records:
            return stripped
        raise UnknownDescriptorError("UI", str(ui), self._source)

    def ui_for_name(self, name: str) -> str:
        """UI for a preferred name or entry term, compared case-insensitively."""
        found = self._ui_by_name.get(_name_key(name))
        if found is None:
            raise UnknownDescriptorError("name", name, self._source)
        return found

    def ui_for_heading(self, heading: str) -> str:
        """UI for a MeSH heading: a UI, a name, or a name with qualifiers (``Neoplasms/drug
        therapy``, ``*Neoplasms/drug therapy``), whose qualifiers are dropped.

        A few descriptor names contain ``/`` themselves, so the whole text is tried as a name
        first and qualifiers are then peeled off one at a time from the right.
        """
        text = heading.strip()
        if text in self._records:
            return text
        candidate = text
        while True:
            found = self._ui_by_name.get(_name_key(candidate.lstrip(MAJOR_TOPIC_MARK)))
            if found is not None:
                return found
            head, separator, _ = candidate.rpartition(HEADING_QUALIFIER_SEPARATOR)
            if not separator:
                kind = "heading" if HEADING_QUALIFIER_SEPARATOR in text else "name"
                raise UnknownDescriptorError(kind, heading, self._source)
            candidate = head

    def closest_names(self, name: str, limit: int = SUGGESTED_NAMES) -> tuple[str, ...]:
        """Known names (preferred names, entry terms) closest to ``name``, as ``'Name' (UI)``."""
        keys = difflib.get_close_matches(
            _name_key(name), list(self._ui_by_name), n=limit, cutoff=SUGGESTION_CUTOFF
        )
        found: list[str] = []
        for key in keys:
            ui = self._ui_by_name[key]
            record = self._records[ui]
            spelled = next(
                (t for t in (record.name, *record.entry_terms) if _name_key(t) == key), key
            )
            found.append(f"'{spelled}' ({ui})")
        return tuple(found)

    def ui_for_tree_number(self, tree_number: str) -> str:
        found = self._ui_by_tree_number.get(tree_number.strip())
        if found is None:
            raise UnknownDescriptorError("tree number", tree_number, self._source)
        return found

    def ui_for_tree_number_or_none(self, tree_number: str) -> str | None:
        return self._ui_by_tree_number.get(tree_number)

    # ----------------------------------------------------------------- navigation
    def parents(self, ui: str, category: str | None = None) -> frozenset[str]:
        """Descriptors one level above ``ui`` (through its tree numbers in ``category``, or all).

        In a partial tree the nearest owned prefix stands in for a missing parent.
        """
        return frozenset(
            parent
            for tree_number in self.record(ui).tree_numbers
            if category is None or category_of(tree_number) == category
            for parent in (self._owner_above(tree_number),)
            if parent is not None
        )

    def children(self, ui: str, category: str | None = None) -> frozenset[str]:
        """Descriptors one level below ``ui`` (in ``category``, or in any category)."""
        links = self._child_links().get(self.resolve_ui(ui), ())
        return frozenset(
            child for link_category, child in links if category is None or link_category == category
        )

    def ancestors(
        self, ui: str, include_self: bool = False, category: str | None = None
    ) -> frozenset[str]:
        """Every descriptor above ``ui``: parents, their parents, and so on, through any tree
        number (restricted to the links in ``category`` when one is given).

        This is the closure over descriptors, not only the prefixes of ``ui``'s own tree
        numbers: when MeSH lists a descriptor's children under just one of its places, they
        still descend from the descriptor's other parents. The closure guarantees that an
        ancestor covers everything below its descendants, which keeps information content
        monotone (and similarity scores within [0, 1]).
        """
        return self._closure(ui, include_self, lambda node: self.parents(node, category))

    def descendants(
        self, ui: str, include_self: bool = False, category: str | None = None
    ) -> frozenset[str]:
        """Every descriptor below ``ui`` (the closure over children; see ``ancestors``)."""
        return self._closure(ui, include_self, lambda node: self.children(node, category))

    def _closure(
        self, ui: str, include_self: bool, step: Callable[[str], frozenset[str]]
    ) -> frozenset[str]:
        start = self.resolve_ui(ui)
        found: set[str] = set()
        pending = [start]
        while pending:
            for neighbour in step(pending.pop()):
                if neighbour not in found:
                    found.add(neighbour)
                    pending.append(neighbour)
        if include_self:
            found.add(start)
        else:
            found.discard(start)
        return frozenset(found)

    def owner_above(self, tree_number: str) -> str | None:
        """The descriptor one level above ``tree_number``: the owner of its parent tree number
        (in a partial tree, of the nearest owned prefix); None at the top level."""
        return self._owner_above(tree_number)

    def _owner_above(self, tree_number: str) -> str | None:
        # Walk up one level at a time: in a full tree the parent itself is owned, so this
        # usually stops at the first step (it runs once per tree number when links are built).
        prefix = parent_tree_number(tree_number)
        while prefix is not None:
            owner = self._ui_by_tree_number.get(prefix)
            if owner is not None:
                return owner
            prefix = parent_tree_number(prefix)
        return None

    def _child_links(self) -> dict[str, tuple[tuple[str, str], ...]]:
        # Built on first use only, so that loading a tree stays cheap.
        if self._children is None:
            links: dict[str, list[tuple[str, str]]] = {}
            for tree_number in self._sorted_tree_numbers:
                parent = self._owner_above(tree_number)
                if parent is not None:
                    link = (category_of(tree_number), self._ui_by_tree_number[tree_number])
                    links.setdefault(parent, []).append(link)
            self._children = {ui: tuple(dict.fromkeys(found)) for ui, found in links.items()}
        return self._children

    def find_cycle(self) -> tuple[str, tuple[str, ...]] | None:
        """A loop in the parent links of one category, as (category, UIs around the loop with
        the first repeated at the end), or None when the hierarchy is a proper one.

        A loop arises when tree numbers contradict each other (X owns A01 and A02.1 while Y
        owns A02 and A01.1); navigation copes, but information content cannot be computed.
        """
        by_category: dict[str, dict[str, list[str]]] = {}
        for parent, links in self._child_links().items():
            for category, child in links:
                by_category.setdefault(category, {}).setdefault(parent, []).append(child)
        for category in sorted(by_category):
            children = by_category[category]
            on_path_or_done: dict[str, bool] = {}  # True while on the current path
            for start in sorted(children):
                if start in on_path_or_done:
                    continue
                path = [start]
                on_path_or_done[start] = True
                pending = [iter(children.get(start, ()))]
                while pending:
                    next_child = next(pending[-1], None)
                    if next_child is None:
                        on_path_or_done[path.pop()] = False
                        pending.pop()
                    elif on_path_or_done.get(next_child):
                        return category, (*path[path.index(next_child) :], next_child)
                    elif next_child not in on_path_or_done:
                        on_path_or_done[next_child] = True
                        path.append(next_child)
                        pending.append(iter(children.get(next_child, ())))
        return None

    def _tree_numbers_below(self, tree_number: str) -> Iterator[str]:
        return self._tree_numbers_with_prefix(tree_number + TREE_NUMBER_SEPARATOR)

    def _tree_numbers_with_prefix(self, prefix: str) -> Iterator[str]:
        # All tree numbers starting with the same prefix are contiguous in sorted order.
        position = bisect_left(self._sorted_tree_numbers, prefix)
        while position < len(self._sorted_tree_numbers):
            candidate = self._sorted_tree_numbers[position]
            if not candidate.startswith(prefix):
                break
            yield candidate
            position += 1

    def lowest_common_ancestors(self, a: str, b: str) -> frozenset[str]:
        """Deepest descriptors that both lie at or below, over all pairs of their tree numbers.

        A descriptor is its own ancestor here, so ``lca(x, x) == {x}`` and an ancestor of the
        other is the answer itself. Empty when no tree number pair shares even a top-level
        heading.
        """
        left, right = self.record(a), self.record(b)
        best_depth = 0
        best: set[str] = set()
        for left_tn in left.tree_numbers:
            left_parts = left_tn.split(TREE_NUMBER_SEPARATOR)
            for right_tn in right.tree_numbers:
                depth = common_prefix_depth(left_tn, right_tn)
                owner: str | None = None
                # Walk up past prefixes that no descriptor owns (partial trees).
                while depth > 0:
                    prefix = TREE_NUMBER_SEPARATOR.join(left_parts[:depth])
                    owner = self._ui_by_tree_number.get(prefix)
                    if owner is not None:
                        break
                    depth -= 1
                if owner is None:
                    continue
                if depth > best_depth:
                    best_depth, best = depth, {owner}
                elif depth == best_depth:
                    best.add(owner)
        return frozenset(best)

    def subtree(self, tree_number: str, max_depth: int | None = None) -> list[str]:
        """UIs at or below ``tree_number``, sorted by tree number, each listed once.

        ``max_depth`` counts levels below the root: 0 gives the root alone, None everything.
        A category letter (``"C"``) stands for the whole category: its top-level headings are
        the roots (max_depth 0 gives them alone), so the 16 letters select all of MeSH.
        """
        if max_depth is not None and max_depth < 0:
            raise ConfigError("max_depth", f"must be 0 or more (or None), got {max_depth}")
        root = tree_number.strip()
        if len(root) == 1 and root.isalpha():
            below: Iterator[str] = self._tree_numbers_with_prefix(root)
            limit = None if max_depth is None else 1 + max_depth
            selected: list[str] = []
        else:
            below = self._tree_numbers_below(root)
            limit = None if max_depth is None else tree_depth(root) + max_depth
            selected = [self.ui_for_tree_number(root)]
        seen = set(selected)
        for tn in below:
            if limit is not None and tree_depth(tn) > limit:
                continue
            ui = self._ui_by_tree_number[tn]
            if ui not in seen:
                seen.add(ui)
                selected.append(ui)
        if not selected:  # a category letter the tree has no heading in
            raise UnknownDescriptorError("tree number", tree_number, self._source)
        return selected


def _name_key(name: str) -> str:
    """Names compare equal whatever their case, spacing or Unicode spelling (NFKC, so no-break
    spaces and full-width letters count as their plain forms; curly quotes and dashes as ASCII)."""
    if not name.isascii():  # the rare case: skip normalisation for plain ASCII (a hot path)
        name = unicodedata.normalize("NFKC", name).translate(_ASCII_LOOKALIKES)
    folded = name.casefold()
    # Most names need no whitespace clean-up; skip the split/join for them (it is a hot path).
    if "  " in folded or folded != folded.strip() or "\t" in folded or "\n" in folded:
        return " ".join(folded.split())
    return folded
