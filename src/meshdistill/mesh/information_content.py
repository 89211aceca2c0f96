"""Information content (IC) of MeSH descriptors, per top-level category.

Each category (by default the tree numbers' first letter ``A``, ``B``, ``C``, ...; with
``category="segment"`` their first segment ``C04``, ``D12``, ...) is treated as its own taxonomy
under a virtual root (the category itself) whose IC is 0 and whose probability is 1. A
descriptor placed in several categories has one IC in each. "Descendants of x in c" are the
distinct descriptors with a tree number in ``c`` below one of x's tree numbers in ``c``.

Two sources of IC:

* **Intrinsic** (Seco, Veale & Hayes 2004), from the hierarchy alone::

      IC_c(x) = 1 - log(hypo_c(x) + 1) / log(N_c + 1)

  where ``hypo_c(x)`` counts x's descendants in ``c`` and ``N_c`` the descriptors in ``c``; the
  ``+ 1`` in the denominator counts the virtual root, so the root gets exactly 0 and leaves 1.
  The matching probability, used by Rel, is ``p_c(x) = (hypo_c(x) + 1) / (N_c + 1)``; indeed
  ``IC_c = -log p_c / log(N_c + 1)``, a normalised Resnik IC.

* **Corpus-based** (Resnik 1995), from the MeSH annotations of a corpus::

      freq_c(x) = sum over y in {x} ∪ descendants_c(x) of (count(y) + smoothing)
      p_c(x)    = freq_c(x) / sum over y in c of (count(y) + smoothing)
      IC_c(x)   = -log p_c(x)

  ``count(y)`` is the number of documents annotated with ``y`` (a document counts a descriptor
  once). ``smoothing`` (default 1, add-one) keeps descriptors that the corpus never mentions at
  a finite IC. Annotations unknown to the tree are ignored and counted in ``ignored_annotations``.

Both ICs fall as one goes up (an ancestor covers a superset of descendants), which is what makes
"the most informative common ancestor" the lowest one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from meshdistill.annotation_counts import AnnotationCounts, annotation_counts
from meshdistill.errors import ConfigError, UnknownDescriptorError
from meshdistill.mesh import ic_cache
from meshdistill.mesh.hierarchy_index import CategoryHierarchy
from meshdistill.mesh.tree import MeshTree

IC_KINDS = ("intrinsic", "corpus")
DEFAULT_CORPUS_SMOOTHING = 1.0


class InformationContent:
    """IC and probability of every descriptor in each of its categories."""

    def __init__(
        self,
        hierarchy: CategoryHierarchy,
        kind: str,
        ic_by_category: dict[str, np.ndarray],
        probability_by_category: dict[str, np.ndarray],
        ignored_annotations: int = 0,
    ) -> None:
        self.hierarchy = hierarchy
        self.kind = kind
        # Arrays are indexed by descriptor id; NaN marks descriptors outside the category.
        self._ic = ic_by_category
        self._probability = probability_by_category
        self.ignored_annotations = ignored_annotations
        # Plain lists, made when a category is first scored and shared by every measure:
        # indexing them is several times faster than indexing numpy arrays.
        self._ic_lists: dict[str, list[float]] = {}
        self._probability_lists: dict[str, list[float]] = {}
        self._max_ic = {
            category: float(np.nanmax(values)) if np.any(~np.isnan(values)) else 0.0
            for category, values in ic_by_category.items()
        }

    @property
    def tree(self) -> MeshTree:
        return self.hierarchy.tree

    @classmethod
    def intrinsic(
        cls, tree: MeshTree, category: str = "letter", cache_dir: str | Path | None = None
    ) -> InformationContent:
        """Seco's IC of every descriptor; with ``cache_dir``, read from the file an earlier
        call for the same tree and convention wrote there (``ic_cache``), or computed and
        written."""
        hierarchy = CategoryHierarchy(tree, category)
        path = None if cache_dir is None else ic_cache.cache_file(cache_dir, tree, category)
        if path is not None:
            stored = ic_cache.read(path, len(hierarchy.uis))
            if stored is not None and sorted(stored) == list(hierarchy.categories):
                return cls._from_table(hierarchy, stored)
        computed = cls._intrinsic(hierarchy)
        if path is not None:
            table: ic_cache.Table = {}
            for name in hierarchy.categories:
                members = np.array(hierarchy.members(name), dtype=np.int64)
                table[name] = (
                    members,
                    computed._ic[name][members],
                    computed._probability[name][members],
                )
            ic_cache.write(path, table)
        return computed

    @classmethod
    def _from_table(cls, hierarchy: CategoryHierarchy, table: ic_cache.Table) -> InformationContent:
        ic_by_category: dict[str, np.ndarray] = {}
        probability_by_category: dict[str, np.ndarray] = {}
        for name, (members, ic_values, probabilities) in table.items():
            ic = np.full(len(hierarchy.uis), np.nan)
            probability = np.full(len(hierarchy.uis), np.nan)
            ic[members] = ic_values
            probability[members] = probabilities
            ic_by_category[name] = ic
            probability_by_category[name] = probability
        return cls(hierarchy, "intrinsic", ic_by_category, probability_by_category)

    @classmethod
    def _intrinsic(cls, hierarchy: CategoryHierarchy) -> InformationContent:
        ic_by_category: dict[str, np.ndarray] = {}
        probability_by_category: dict[str, np.ndarray] = {}
        for category in hierarchy.categories:
            ancestors = hierarchy.ancestors[category]
            hyponyms = np.zeros(len(hierarchy.uis), dtype=np.int64)
            for member, above in ancestors.items():
                for ancestor in above:
                    if ancestor != member:
                        hyponyms[ancestor] += 1
            nodes_with_root = len(ancestors) + 1
            ic = np.full(len(hierarchy.uis), np.nan)
            probability = np.full(len(hierarchy.uis), np.nan)
            log_nodes = math.log(nodes_with_root)
            for member in ancestors:
                count = int(hyponyms[member])
                ic[member] = 1.0 - math.log(count + 1) / log_nodes
                probability[member] = (count + 1) / nodes_with_root
            ic_by_category[category] = ic
            probability_by_category[category] = probability
        return cls(hierarchy, "intrinsic", ic_by_category, probability_by_category)

    @classmethod
    def from_corpus(
        cls,
        tree: MeshTree,
        annotations: Iterable[Sequence[str]] | AnnotationCounts,
        smoothing: float = DEFAULT_CORPUS_SMOOTHING,
        category: str = "letter",
    ) -> InformationContent:
        """``annotations``: each document's heading UIs, or their counts (an index's)."""
        if not smoothing > 0:
            raise ConfigError("smoothing", f"must be greater than 0, got {smoothing}")
        hierarchy = CategoryHierarchy(tree, category)
        counts = np.zeros(len(hierarchy.uis), dtype=np.float64)
        counted = annotation_counts(annotations)
        ignored = 0
        for ui, occurrences in counted.occurrences.items():
            index = hierarchy.id_of.get(ui)
            if index is None:
                ignored += occurrences
            else:
                counts[index] += counted.documents_with[ui]  # a document counts a UI once
        ic_by_category: dict[str, np.ndarray] = {}
        probability_by_category: dict[str, np.ndarray] = {}
        for category in hierarchy.categories:
            ancestors = hierarchy.ancestors[category]
            frequency = np.zeros(len(hierarchy.uis), dtype=np.float64)
            total = 0.0
            for member in sorted(ancestors):
                weight = float(counts[member]) + smoothing
                total += weight
                for ancestor in ancestors[member]:
                    frequency[ancestor] += weight
            ic = np.full(len(hierarchy.uis), np.nan)
            probability = np.full(len(hierarchy.uis), np.nan)
            for member in ancestors:
                share = float(frequency[member]) / total
                probability[member] = share
                ic[member] = -math.log(share)
            ic_by_category[category] = ic
            probability_by_category[category] = probability
        return cls(hierarchy, "corpus", ic_by_category, probability_by_category, ignored)

    def _lookup(self, table: dict[str, np.ndarray], ui: str, category: str) -> float:
        index = self.hierarchy.id_of.get(ui)
        if index is None:
            raise UnknownDescriptorError("UI", ui, self.tree.source)
        values = table.get(category)
        value = math.nan if values is None else float(values[index])
        if math.isnan(value):
            raise UnknownDescriptorError(f"UI in category {category}", ui, self.tree.source)
        return value

    def ic(self, ui: str, category: str) -> float:
        return self._lookup(self._ic, ui, category)

    def probability(self, ui: str, category: str) -> float:
        return self._lookup(self._probability, ui, category)

    def max_ic(self, category: str) -> float:
        """Largest IC of any descriptor in the category (normalises Jiang-Conrath)."""
        return self._max_ic.get(category, 0.0)

    def ic_array(self, category: str) -> np.ndarray:
        """IC by descriptor id for one category (NaN outside it); a read-only view."""
        view = self._ic[category].view()
        view.flags.writeable = False
        return view

    def ic_list(self, category: str) -> list[float]:
        """IC by descriptor id for one category (NaN outside it), as a list; do not modify."""
        found = self._ic_lists.get(category)
        if found is None:
            found = self._ic_lists[category] = self._ic[category].tolist()
        return found

    def probability_list(self, category: str) -> list[float]:
        """Probability by descriptor id for one category, as a list; do not modify."""
        found = self._probability_lists.get(category)
        if found is None:
            found = self._probability_lists[category] = self._probability[category].tolist()
        return found

    def probability_array(self, category: str) -> np.ndarray:
        view = self._probability[category].view()
        view.flags.writeable = False
        return view
