"""KAILIN's released MeSH similarity, reproduced exactly (``scoring.measure: kailin``).

The paper's method is defined by its released scorer (``DPO/mesh_score/cal_mesh_score.py`` in
the KAILIN repository). It is not the textbook Lin / Jiang-Conrath / Rel of ``similarity``;
where they differ is marked (*quirk*). For descriptors ``a`` and ``b``:

* A **category** is a tree number's first segment (``C04``, ``D12``), not its first letter.
* Relative frequency, per category ``c`` that ``x`` has a tree number in:
  ``p_c(x) = n(x) / Σ_{y in c} n(y)``, ``n(x)`` the corpus documents annotated with ``x``
  (no smoothing; a category the corpus never mentions has every ``p`` 0).
* ``IC_c(x) = -log10(S)``, ``S`` the sum of ``p_c(d)`` over the (descendant, category) pairs
  of ``x`` in ``c``, each once; ``IC_c(x) = 0`` unless ``0 < S <= 1``. ``S`` is computed
  exactly (counts summed, divided once); the release adds floating-point frequencies in
  database order, so where ``S`` is 1 it may get ``1 - 1e-16`` and an IC of ~1e-16, which
  (``s_c > 0``) can turn a pair's 0 into a large score. The exact value is the formula's.
  A descendant pair ``(d, c)`` is a child link into ``d`` through one of ``d``'s tree
  numbers in ``c`` from ``x`` or any descriptor below ``x``, following child links of every
  tree number (so a descendant can be reached through another category). *Quirk:* ``x``
  itself is not counted, so a leaf, or a node whose descendants no document mentions, has
  IC 0.
* ``MaxIC_c`` = the largest ``IC_c`` of any descriptor in ``c``.
* LCA: over every pair of tree numbers of ``a`` and ``b`` (in their listed order, ``a``'s
  outer), the longest common prefix of whole segments; *quirk:* "longest" compares the
  prefixes' **string length** and the first one found is kept on ties. The descriptor owning
  that tree number is the LCA (in a partial tree: the nearest owned prefix above it, as the
  tree's parent links do; on the full MeSH tree every prefix is owned). No common prefix: 0.
* For each category ``c`` of the LCA that ``a`` and ``b`` both have, with ``MaxIC_c > 0``:
  ``t_c = mean(IC_c(l) / MaxIC_c, IC_c(l) / MaxIC_c)``; where ``s_c = IC_c(a) + IC_c(b) > 0``:
  ``lin = 2 t_c / s_c`` (*quirk:* ``t_c`` is normalised by MaxIC, ``s_c`` is not),
  ``jiang = 1 - min(1, s_c - 2 t_c)``, ``rel = lin · (1 - 10^(-t_c · MaxIC_c))``.
* Similarity = mean of all those lin, jiang and rel values, each clipped to [0, 1];
  identical descriptors 1; nothing computed 0.

Because of the tie-break the score is not always symmetric, so pairs are memoised in order
(source heading first, as the release calls it). Set and retrieval scores are the shared ones
of ``set_scorer`` (``mean`` is the release's all-pairs mean over the top-k documents).

Speed: frequencies, descendant sums, IC and MaxIC are computed once for the whole tree in one
pass over the ancestor closures; each descriptor keeps its tree numbers split into segments
with the string length and owner of every prefix, so an LCA costs a few integer comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from meshdistill.errors import ConfigError, InputError, UnknownDescriptorError
from meshdistill.mesh.descriptor import TREE_NUMBER_SEPARATOR, top_level_heading
from meshdistill.mesh.set_scorer import DEFAULT_MEMO_LIMIT, HeadingSetScorer
from meshdistill.mesh.tree import MeshTree

KAILIN_MEASURE = "kailin"

# One place of a descriptor: its tree number's segments, then for every prefix depth k
# (0..n) the prefix's string length and the id of the descriptor owning it (-1: none).
Place = tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]


class KailinInformationContent:
    """Per-category relative frequency and IC of every descriptor, KAILIN's way.

    ``ic[x]`` maps each category (first segment) of descriptor id ``x`` to ``IC_c(x)``.
    """

    def __init__(self, tree: MeshTree, annotations: Iterable[Sequence[str]]) -> None:
        self.tree = tree
        uis = tree.uis
        self.id_of = {ui: index for index, ui in enumerate(uis)}
        self.categories_of: list[tuple[str, ...]] = [
            tuple(sorted({top_level_heading(tn) for tn in tree.tree_numbers(ui)})) for ui in uis
        ]
        counts = [0] * len(uis)
        self.ignored_annotations = 0
        self.documents = 0
        for document in annotations:
            self.documents += 1
            for index in {self.id_of.get(ui, -1) for ui in document}:
                if index < 0:
                    self.ignored_annotations += 1
                else:
                    counts[index] += 1
        totals: dict[str, int] = {}
        for index, categories in enumerate(self.categories_of):
            for category in categories:
                totals[category] = totals.get(category, 0) + counts[index]
        self.probability: list[dict[str, float]] = [
            {c: (counts[index] / totals[c] if totals[c] else 0.0) for c in categories}
            for index, categories in enumerate(self.categories_of)
        ]
        self.ic = self._information_content(tree, counts, totals)
        self.max_ic: dict[str, float] = {}
        for values in self.ic:
            for category, value in values.items():
                if value > self.max_ic.get(category, -1.0):
                    self.max_ic[category] = value

    def _information_content(
        self, tree: MeshTree, counts: list[int], totals: dict[str, int]
    ) -> list[dict[str, float]]:
        uis = tree.uis
        id_of = self.id_of
        parents: list[list[int]] = [[] for _ in uis]
        # (child, category) -> the descriptors whose child links lead into it in that category.
        links: dict[tuple[int, str], set[int]] = {}
        for child, ui in enumerate(uis):
            for tree_number in tree.tree_numbers(ui):
                owner = tree.owner_above(tree_number)
                if owner is None:
                    continue
                parent = id_of[owner]
                if parent not in parents[child]:
                    parents[child].append(parent)
                links.setdefault((child, top_level_heading(tree_number)), set()).add(parent)
        above = _closures_upwards(parents, tree)
        # S is summed as document counts and divided once: exact, so a node holding all of a
        # category's annotations below it gets S = 1 and IC 0 whatever the summation order.
        sums: list[dict[str, int]] = [dict.fromkeys(cats, 0) for cats in self.categories_of]
        # (d, c) counts for x when x is a link's parent or lies above one: x in above(parent).
        for (child, category), link_parents in sorted(links.items()):
            share = counts[child]
            if share == 0:
                continue
            reached: set[int] = set()
            for parent in link_parents:
                reached |= above[parent]
            reached.discard(child)  # only a cycle could bring it back; x itself never counts
            for node in reached:
                node_sums = sums[node]
                if category in node_sums:
                    node_sums[category] += share
        return [{c: _information(below, totals[c]) for c, below in row.items()} for row in sums]


def _information(below: int, total: int) -> float:
    """``-log10(S)`` for ``S = below / total``; 0 unless ``0 < S <= 1``."""
    if total == 0 or below == 0:
        return 0.0
    share = below / total
    return -math.log10(share) if share <= 1.0 else 0.0


def _closures_upwards(parents: list[list[int]], tree: MeshTree) -> list[frozenset[int]]:
    """For every id, itself and everything above it through any parent link (memoised)."""
    done: list[frozenset[int] | None] = [None] * len(parents)
    for start in range(len(parents)):
        if done[start] is not None:
            continue
        stack: list[tuple[int, bool]] = [(start, False)]
        in_progress: set[int] = set()
        while stack:
            node, parents_done = stack.pop()
            if done[node] is not None:
                continue
            if parents_done:
                closure = {node}
                for parent in parents[node]:
                    found = done[parent]
                    assert found is not None
                    closure |= found
                done[node] = frozenset(closure)
                continue
            if node in in_progress:
                raise InputError(tree.source, "descriptor hierarchy has a cycle", tree.uis[node])
            in_progress.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in parents[node] if done[parent] is None)
    return [closure if closure is not None else frozenset() for closure in done]


class KailinScorer(HeadingSetScorer):
    """KAILIN's released similarity for pairs, heading sets and retrieval results."""

    symmetric = False

    def __init__(
        self,
        tree: MeshTree,
        ic: KailinInformationContent,
        memo_limit: int = DEFAULT_MEMO_LIMIT,
        exclude: Iterable[str] = (),
    ) -> None:
        if ic.tree is not tree and ic.tree.uis != tree.uis:
            raise ConfigError("ic", "information content was computed for a different MeSH tree")
        self.measure = KAILIN_MEASURE
        self.ic = ic
        self._init_pairs(tree, ic.categories_of, exclude, memo_limit)
        self._ic_of = ic.ic
        self._max_ic = ic.max_ic
        self._category_sets = [frozenset(c) for c in ic.categories_of]
        # Per descriptor, its places in listed order (the release's tie-break depends on it).
        self._places: list[tuple[Place, ...]] = [self._places_of(ui) for ui in tree.uis]

    def _places_of(self, ui: str) -> tuple[Place, ...]:
        places = []
        for tree_number in self.tree.tree_numbers(ui):
            parts = tuple(tree_number.split(TREE_NUMBER_SEPARATOR))
            lengths = [0]
            owners = [-1]
            for depth in range(1, len(parts) + 1):
                prefix = TREE_NUMBER_SEPARATOR.join(parts[:depth])
                lengths.append(len(prefix))
                owner = self.tree.ui_for_tree_number_or_none(prefix)
                if owner is None:
                    owner = self.tree.owner_above(prefix)
                owners.append(-1 if owner is None else self._id_of[owner])
            places.append((parts, tuple(lengths), tuple(owners)))
        return tuple(places)

    def lowest_common_ancestor(self, a: str, b: str) -> str | None:
        """The release's LCA of two descriptors (None without a common prefix)."""
        first, second = self._id_of.get(a), self._id_of.get(b)
        if first is None or second is None:
            raise UnknownDescriptorError("UI", a if first is None else b, self.tree.source)
        lowest = self._lca(first, second)
        return None if lowest < 0 else self.tree.uis[lowest]

    def _lca(self, first: int, second: int) -> int:
        best_length = 0
        best_owner = -1
        for parts_a, lengths_a, owners_a in self._places[first]:
            for parts_b, _, _ in self._places[second]:
                depth = 0
                for part_a, part_b in zip(parts_a, parts_b, strict=False):
                    if part_a != part_b:
                        break
                    depth += 1
                # Strictly longer only: the first prefix of a given length is kept.
                if lengths_a[depth] > best_length:
                    best_length, best_owner = lengths_a[depth], owners_a[depth]
        return best_owner

    def _compute(self, first: int, second: int) -> float:
        lowest = self._lca(first, second)
        if lowest < 0:
            return 0.0
        ic_of, category_sets = self._ic_of, self._category_sets
        ic_first, ic_second, ic_lowest = ic_of[first], ic_of[second], ic_of[lowest]
        first_categories, second_categories = category_sets[first], category_sets[second]
        lins: list[float] = []
        jiangs: list[float] = []
        rels: list[float] = []
        for category, lowest_value in ic_lowest.items():
            if category not in first_categories or category not in second_categories:
                continue
            largest = self._max_ic[category]
            if not largest > 0.0:
                continue
            share = (lowest_value / largest + lowest_value / largest) / 2
            summed = ic_first[category] + ic_second[category]
            if not summed > 0.0:
                continue
            lin = 2 * share / summed
            lins.append(lin)
            jiangs.append(1 - min(1.0, summed - 2 * share))
            rels.append(lin * (1 - 10 ** (-share * largest)))
        values = lins + jiangs + rels
        if not values:
            return 0.0
        return sum(_clip(value) for value in values) / len(values)


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value
