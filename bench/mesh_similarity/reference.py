"""Yardstick for the benchmark: the same formulas, every fact looked up one at a time.

This mirrors a scorer that asks a database for each fact it needs: a descriptor's parents and
children are looked up row by row, and every information content is recomputed by walking the
descendants on each call, as KAILIN's scorer does against its MeSH database. Only aggregate
statistics a database would keep (descriptor count, corpus total and largest IC per category,
per-descriptor corpus counts)
are computed once. It shares no code with ``meshdistill.mesh.similarity`` on purpose: the two
must agree to 1e-9 while differing in speed.

Definitions (the same as the project's; see the README): per category, ancestors and
descendants are closures over parent links in that category; intrinsic IC is Seco's
``1 - log(hypo + 1) / log(N + 1)``; corpus IC is ``-log(freq / total)`` with add-``smoothing``
counts; Lin, Jiang-Conrath (normalised by twice the largest IC), Rel and Wu-Palmer are averaged
over shared categories; identical descriptors score 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from meshdistill.mesh import MeshTree


class ReferenceScorer:
    def __init__(
        self,
        tree: MeshTree,
        measure: str = "lin",
        corpus: Iterable[Sequence[str]] | None = None,
        smoothing: float = 1.0,
    ) -> None:
        self.measure = measure
        # The "database": rows of (tree number -> UI) and (UI -> tree numbers).
        self.tree_numbers = {ui: tree.tree_numbers(ui) for ui in tree.uis}
        self.owner = {tn: ui for ui, tns in self.tree_numbers.items() for tn in tns}
        self.children_rows: dict[str, list[str]] = {}
        for tn in sorted(self.owner):
            parent = self._owner_above(tn)
            if parent is not None:
                self.children_rows.setdefault(parent, []).append(tn)
        self.category_size = {
            c: sum(1 for tns in self.tree_numbers.values() if any(tn[0] == c for tn in tns))
            for c in {tn[0] for tn in self.owner}
        }
        self.counts: dict[str, float] | None = None
        self.smoothing = smoothing
        if corpus is not None:
            self.counts = {}
            for document in corpus:
                for ui in set(document):
                    if ui in self.tree_numbers:
                        self.counts[ui] = self.counts.get(ui, 0.0) + 1.0
        self.category_total = {
            c: sum(
                (self.counts or {}).get(ui, 0.0) + smoothing
                for ui in sorted(self.tree_numbers)
                if any(tn[0] == c for tn in self.tree_numbers[ui])
            )
            for c in self.category_size
        }
        self.max_ic = {
            c: max(
                self.ic(ui, c)
                for ui, tns in self.tree_numbers.items()
                if any(tn[0] == c for tn in tns)
            )
            for c in self.category_size
        }

    def _owner_above(self, tree_number: str) -> str | None:
        parts = tree_number.split(".")
        for end in range(len(parts) - 1, 0, -1):
            owner = self.owner.get(".".join(parts[:end]))
            if owner is not None:
                return owner
        return None

    def categories(self, ui: str) -> set[str]:
        return {tn[0] for tn in self.tree_numbers[ui]}

    def ancestors(self, ui: str, category: str) -> set[str]:
        found = {ui}
        pending = [ui]
        while pending:
            node = pending.pop()
            for tn in self.tree_numbers[node]:
                if tn[0] != category:
                    continue
                parent = self._owner_above(tn)
                if parent is not None and parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    def descendants(self, ui: str, category: str) -> set[str]:
        """``ui`` and everything below it in ``category``, walked afresh on every call."""
        found = {ui}
        pending = [ui]
        while pending:
            node = pending.pop()
            for child_tn in self.children_rows.get(node, ()):
                if child_tn[0] != category:
                    continue
                child = self.owner[child_tn]
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def probability(self, ui: str, category: str) -> float:
        below = self.descendants(ui, category)
        if self.counts is None:
            return len(below) / (self.category_size[category] + 1)
        freq = sum(self.counts.get(u, 0.0) + self.smoothing for u in below)
        return freq / self.category_total[category]

    def ic(self, ui: str, category: str) -> float:
        if self.counts is None:
            hyponyms = len(self.descendants(ui, category)) - 1
            return 1 - math.log(hyponyms + 1) / math.log(self.category_size[category] + 1)
        return -math.log(self.probability(ui, category))

    def pair(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        shared = sorted(self.categories(a) & self.categories(b))
        if not shared:
            return 0.0
        return sum(self.category_score(a, b, c) for c in shared) / len(shared)

    def category_score(self, a: str, b: str, category: str) -> float:
        if self.measure == "wu_palmer":
            best = 0.0
            for s in self.tree_numbers[a]:
                for t in self.tree_numbers[b]:
                    if s[0] != category or t[0] != category:
                        continue
                    common = 0
                    for x, y in zip(s.split("."), t.split("."), strict=False):
                        if x != y:
                            break
                        common += 1
                    if common:
                        best = max(best, 2.0 * common / (s.count(".") + t.count(".") + 2))
            return best
        shared_ancestors = self.ancestors(a, category) & self.ancestors(b, category)
        if not shared_ancestors:
            return 0.0
        # Ties in IC go to the smallest UI, as in the project's scorer.
        lowest = max(sorted(shared_ancestors), key=lambda ui: self.ic(ui, category))
        ic_a, ic_b, ic_l = self.ic(a, category), self.ic(b, category), self.ic(lowest, category)
        if self.measure == "jiang":
            largest = self.max_ic[category]
            if largest <= 0.0:
                return 1.0
            return min(1.0, max(0.0, 1.0 - (ic_a + ic_b - 2.0 * ic_l) / (2.0 * largest)))
        lin = min(1.0, 2.0 * ic_l / (ic_a + ic_b)) if ic_a + ic_b > 0.0 else 0.0
        if self.measure == "lin":
            return lin
        return lin * (1.0 - self.probability(lowest, category))

    def set_similarity(self, source: Sequence[str], other: Sequence[str], method: str) -> float:
        s = [ui for ui in source if ui in self.tree_numbers]
        o = [ui for ui in other if ui in self.tree_numbers]
        if not s or not o:
            return 0.0
        rows = [[self.pair(x, y) for y in o] for x in s]
        if method == "mean":
            return sum(sum(row) for row in rows) / (len(s) * len(o))
        best_s = sum(max(row) for row in rows) / len(s)
        best_o = sum(max(col) for col in zip(*rows, strict=True)) / len(o)
        return (best_s + best_o) / 2.0
