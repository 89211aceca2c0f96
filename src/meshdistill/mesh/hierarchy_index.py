"""Integer-indexed, per-category view of a MeshTree, shared by information content and scoring.

The similarity measures work one top-level category at a time: within category ``c`` a
descriptor's ancestors are the closure over its parent links in ``c`` (``MeshTree.ancestors``
with ``category=c``). This index computes those ancestor sets once for every descriptor, as
integer ids (positions in ``tree.uis``), so that scoring never walks the tree again. Each
closure is built from its parents' closures (memoised), so the whole index costs about one pass
over the ancestor pairs.
"""

from __future__ import annotations

from meshdistill.errors import InputError
from meshdistill.mesh.descriptor import TREE_NUMBER_SEPARATOR, category_of
from meshdistill.mesh.tree import MeshTree


class CategoryHierarchy:
    """Per category: member ids, and each member's in-category ancestors (itself included)."""

    def __init__(self, tree: MeshTree) -> None:
        self.tree = tree
        self.uis = tree.uis
        self.id_of: dict[str, int] = {ui: index for index, ui in enumerate(self.uis)}
        self.categories = tree.all_categories
        self.ancestors: dict[str, dict[int, frozenset[int]]] = {c: {} for c in self.categories}
        # Tree numbers split into components, per category, for depth-based measures.
        self.paths: dict[str, dict[int, tuple[tuple[str, ...], ...]]] = {
            c: {} for c in self.categories
        }
        self.categories_of: list[frozenset[str]] = []
        for index, ui in enumerate(self.uis):
            record = tree.record(ui)
            self.categories_of.append(record.categories)
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
            parents = [self.id_of[p] for p in self.tree.parents(self.uis[node], category=category)]
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

    def members(self, category: str) -> list[int]:
        """Ids of descriptors with at least one tree number in ``category``, ascending."""
        return sorted(self.ancestors.get(category, {}))
