"""Integer-indexed, per-category view of a MeshTree, shared by information content and scoring.

The similarity measures work one top-level category at a time: within category ``c`` a
descriptor's ancestors are the closure over its parent links in ``c`` (for the ``letter``
convention, ``MeshTree.ancestors`` with ``category=c``). A category is a tree number's first
letter or its first segment, as ``convention`` says (``descriptor.CATEGORY_CONVENTIONS``); a
parent link never crosses segments, so the segment view is the letter view cut at the top-level
headings. This index computes those ancestor sets once for every descriptor, as
integer ids (positions in ``tree.uis``), so that scoring never walks the tree again. Each
closure is built from its parents' closures (memoised), so the whole index costs about one pass
over the ancestor pairs.
"""

from __future__ import annotations

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
        self.ancestors: dict[str, dict[int, frozenset[int]]] = {c: {} for c in self.categories}
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
                self._close(index, category)

    def _close(self, start: int, category: str) -> None:
        """Fill ``ancestors[category]`` for ``start`` and, on the way, for its ancestors."""
        done = self.ancestors[category]
        if start in done:
            return
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
        return sorted(self.ancestors.get(category, {}))
