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
of ``set_scorer`` (``mean`` is the release's all-pairs mean over the top-k documents; a side
left empty scores 0, where the release's ``np.mean([])`` gives NaN).

Speed: frequencies, descendant sums, IC and MaxIC are computed once for the whole tree in one
pass over the ancestor closures; each descriptor keeps the set of its tree numbers' prefixes,
so an LCA is one set intersection (the release's pair order is walked only on a tie).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from meshdistill.annotation_counts import AnnotationCounts, annotation_counts
from meshdistill.errors import ConfigError, InputError, UnknownDescriptorError
from meshdistill.mesh.descriptor import TREE_NUMBER_SEPARATOR
from meshdistill.mesh.set_scorer import DEFAULT_MEMO_LIMIT, HeadingSetScorer
from meshdistill.mesh.tree import MeshTree

KAILIN_MEASURE = "kailin"

# One place of a descriptor: the whole-segment prefixes of its tree number, shortest first
# (``("C04", "C04.557", "C04.557.337")``).
Place = tuple[str, ...]


class KailinInformationContent:
    """Per-category relative frequency and IC of every descriptor, KAILIN's way.

    ``ic[x]`` maps each category (first segment) of descriptor id ``x`` to ``IC_c(x)``.
    """

    def __init__(
        self, tree: MeshTree, annotations: Iterable[Sequence[str]] | AnnotationCounts
    ) -> None:
        self.tree = tree
        uis = tree.uis
        self.id_of = {ui: index for index, ui in enumerate(uis)}
        self.places: list[tuple[Place, ...]] = []
        # Every prefix -> the id of the descriptor owning it (in a partial tree, of the nearest
        # owned prefix above; -1 for none). Shared with the scorer's LCA.
        self.owner_of_prefix: dict[str, int] = {}
        self._place_of_prefix: dict[str, Place] = {}
        for ui in uis:
            self.places.append(tuple(self._place(tn) for tn in tree.tree_numbers(ui)))
        self.categories_of: list[tuple[str, ...]] = [
            tuple(sorted({place[0] for place in places})) for places in self.places
        ]
        counts = [0] * len(uis)
        counted = annotation_counts(annotations)
        self.ignored_annotations = 0
        self.documents = counted.documents
        for ui, occurrences in counted.occurrences.items():
            index = self.id_of.get(ui)
            if index is None:
                self.ignored_annotations += occurrences
            else:
                counts[index] += counted.documents_with[ui]  # a document counts a UI once
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

    def _place(self, prefix: str) -> Place:
        """The prefixes of ``prefix`` (itself last), memoised; records each one's owner."""
        found = self._place_of_prefix.get(prefix)
        if found is not None:
            return found
        head, separator, _ = prefix.rpartition(TREE_NUMBER_SEPARATOR)
        base = self._place(head) if separator else ()
        owner_ui = self.tree.ui_for_tree_number_or_none(prefix)
        if owner_ui is not None:
            self.owner_of_prefix[prefix] = self.id_of[owner_ui]
        else:
            self.owner_of_prefix[prefix] = self.owner_of_prefix[head] if separator else -1
        place = (*base, prefix)
        self._place_of_prefix[prefix] = place
        return place

    def _information_content(
        self, tree: MeshTree, counts: list[int], totals: dict[str, int]
    ) -> list[dict[str, float]]:
        uis = tree.uis
        parents: list[list[int]] = [[] for _ in uis]
        # (child, category) -> the descriptors whose child links lead into it in that category.
        links: dict[tuple[int, str], set[int]] = {}
        for child in range(len(uis)):
            for place in self.places[child]:
                if len(place) < 2:
                    continue
                parent = self.owner_of_prefix[place[-2]]
                if parent < 0:
                    continue
                if parent not in parents[child]:
                    parents[child].append(parent)
                links.setdefault((child, place[0]), set()).add(parent)
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
        self._places = ic.places
        self._owner_of_prefix = ic.owner_of_prefix
        # Every whole-segment prefix of a descriptor's tree numbers: the LCA's tree number is
        # the longest string the two sets share.
        self._prefix_sets = [
            frozenset(prefix for place in places for prefix in place) for places in ic.places
        ]
        # Categories where a descriptor's IC and the category's MaxIC are above 0: a category
        # yields values only when it is one of these for either descriptor (s_c > 0), so a
        # pair sharing none of them scores 0 without looking for its LCA.
        bit_of = self._bit_of
        self._informative_mask = [
            sum(bit_of[c] for c, value in values.items() if value > 0.0 and ic.max_ic[c] > 0.0)
            for values in ic.ic
        ]

    def lowest_common_ancestor(self, a: str, b: str) -> str | None:
        """The release's LCA of two descriptors (None without a common prefix)."""
        first, second = self._id_of.get(a), self._id_of.get(b)
        if first is None or second is None:
            raise UnknownDescriptorError("UI", a if first is None else b, self.tree.source)
        lowest = self._lca(first, second)
        return None if lowest < 0 else self.tree.uis[lowest]

    def _lca(self, first: int, second: int) -> int:
        # The longest shared prefix string is the longest common prefix of some pair of tree
        # numbers, so the release's answer; only a tie between different strings of that
        # length needs the release's pair order.
        common = self._prefix_sets[first] & self._prefix_sets[second]
        if not common:
            return -1
        if len(common) == 1:
            for only in common:
                return self._owner_of_prefix[only]
        longest = max(map(len, common))
        tied = [prefix for prefix in common if len(prefix) == longest]
        if len(tied) == 1:
            return self._owner_of_prefix[tied[0]]
        return self._lca_in_release_order(first, second)

    def _lca_in_release_order(self, first: int, second: int) -> int:
        """Over tree-number pairs in listed order (``first``'s outer), keep the first longest."""
        best_length = 0
        best = ""
        for place_a in self._places[first]:
            for place_b in self._places[second]:
                depth = 0
                for prefix_a, prefix_b in zip(place_a, place_b, strict=False):
                    if prefix_a != prefix_b:
                        break
                    depth += 1
                if depth and len(place_a[depth - 1]) > best_length:
                    best = place_a[depth - 1]
                    best_length = len(best)
        return self._owner_of_prefix[best] if best else -1

    def _compute(self, first: int, second: int) -> float:
        mask, informative = self._category_mask, self._informative_mask
        if not (informative[first] & mask[second]) | (informative[second] & mask[first]):
            return 0.0
        lowest = self._lca(first, second)
        if lowest < 0:
            return 0.0
        ic_first, ic_second = self._ic_of[first], self._ic_of[second]
        max_ic = self._max_ic
        total = 0.0
        count = 0
        for category, lowest_value in self._ic_of[lowest].items():
            value_first = ic_first.get(category)
            value_second = ic_second.get(category)
            if value_first is None or value_second is None:
                continue  # the LCA's category is not one of both descriptors'
            largest = max_ic[category]
            summed = value_first + value_second
            if not largest > 0.0 or not summed > 0.0:
                continue
            share = (lowest_value / largest + lowest_value / largest) / 2
            lin = 2 * share / summed
            jiang = 1 - min(1.0, summed - 2 * share)
            rel = lin * (1 - 10 ** (-share * largest))
            # All three are >= 0 by construction; only the upper clip can apply.
            total += (lin if lin < 1.0 else 1.0) + (jiang if jiang < 1.0 else 1.0)
            total += rel if rel < 1.0 else 1.0
            count += 3
        return total / count if count else 0.0


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value
