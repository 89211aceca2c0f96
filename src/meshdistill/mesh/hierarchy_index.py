"""Integer-indexed, per-category view of a MeshTree, shared by information content and scoring.

The similarity measures work one top-level category at a time: within category ``c`` a
descriptor's ancestors are the closure over its parent links in ``c`` (for the ``letter``
convention, ``MeshTree.ancestors`` with ``category=c``). A category is a tree number's first
letter or its first segment, as ``convention`` says (``descriptor.CATEGORY_CONVENTIONS``); a
parent link never crosses segments, so the segment view is the letter view cut at the top-level
headings. This index computes those ancestor sets once for every descriptor, as
integer ids (positions in ``tree.uis``), so that scoring never walks the tree again. Each
closure is built from its parents' closures (memoised), so the whole index costs about one pass
over the ancestor pairs; and each is built when first asked for, so a job scoring a few hundred
descriptors of all of MeSH closes those and their ancestors only (1.3 s of CPU per job for the
whole 2017 tree, otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from meshdistill.errors import InputError
from meshdistill.mesh.descriptor import TREE_NUMBER_SEPARATOR, category_function
from meshdistill.mesh.tree import MeshTree


class CategoryHierarchy:
    """Per category: member ids, and each member's in-category ancestors (itself included)."""

    def __init__(self, tree: MeshTree, convention: str = "letter") -> None:
        self.tree = tree
        self.convention = convention
        category_of = category_function(convention)
        self._category_of = category_of
        self.uis = tree.uis
        self.id_of: dict[str, int] = {ui: index for index, ui in enumerate(self.uis)}
        self.categories = tuple(
            sorted({category_of(tn) for ui in self.uis for tn in tree.tree_numbers(ui)})
        )
        # Closed so far, per category; ``ancestors`` closes the rest on demand.
        self._closed: dict[str, dict[int, frozenset[int]]] = {c: {} for c in self.categories}
        # Tree numbers split into components, per category, for depth-based measures.
        self.paths: dict[str, dict[int, tuple[tuple[str, ...], ...]]] = {
            c: {} for c in self.categories
        }
        self.categories_of: list[frozenset[str]] = []
        for index, ui in enumerate(self.uis):
            record = tree.record(ui)
            self.categories_of.append(frozenset(category_of(tn) for tn in record.tree_numbers))
            paths: dict[str, list[tuple[str, ...]]] = {}
            for tree_number in record.tree_numbers:
                paths.setdefault(category_of(tree_number), []).append(
                    tuple(tree_number.split(TREE_NUMBER_SEPARATOR))
                )
            for category, category_paths in paths.items():
                self.paths[category][index] = tuple(category_paths)
        # Each descriptor's categories in sorted order (scores sum over them in this order).
        self.sorted_categories_of = [tuple(sorted(c)) for c in self.categories_of]
        self.ancestors: dict[str, Mapping[int, frozenset[int]]] = {
            c: _Closures(self, c) for c in self.categories
        }

    def _close(self, start: int, category: str) -> frozenset[int]:
        """``start``'s closure in ``category``, filled in on the way for its ancestors too."""
        done = self._closed[category]
        if start in done:
            return done[start]
        in_progress: set[int] = set()
        stack: list[tuple[int, bool]] = [(start, False)]
        while stack:
            node, parents_done = stack.pop()
            if node in done:
                continue
            parents = self._parents(node, category)
            if parents_done:
                closure = {node}
                for parent in parents:
                    closure |= done[parent]
                done[node] = frozenset(closure)
                continue
            if node in in_progress:
                raise InputError(
                    self.tree.source, f"descriptor hierarchy has a cycle in category {category}",
                    self.uis[node],
                )  # fmt: skip
            in_progress.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in parents if parent not in done)
        return done[start]

    def _parents(self, node: int, category: str) -> list[int]:
        category_of = self._category_of
        found: set[int] = set()
        for tree_number in self.tree.tree_numbers(self.uis[node]):
            if category_of(tree_number) == category:
                parent = self.tree.owner_above(tree_number)
                if parent is not None:
                    found.add(self.id_of[parent])
        return sorted(found)

    def members(self, category: str) -> list[int]:
        """Ids of descriptors with at least one tree number in ``category``, ascending."""
        return sorted(self.paths.get(category, {}))


class _Closures(Mapping[int, frozenset[int]]):
    """A category's members (ids, in id order) mapped to their in-category ancestors, itself
    included; each closure computed when first looked up."""

    def __init__(self, hierarchy: CategoryHierarchy, category: str) -> None:
        self._hierarchy = hierarchy
        self._category = category
        self._members = hierarchy.paths[category]

    def __getitem__(self, member: int) -> frozenset[int]:
        if member not in self._members:
            raise KeyError(member)
        return self._hierarchy._close(member, self._category)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __iter__(self) -> Iterator[int]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)
