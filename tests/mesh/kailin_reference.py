"""A straightforward transcription of KAILIN's released scorer, for tests and the benchmark.

It follows the formulas of issue 10 one fact at a time, the way the release asks its MeSH
database: a descriptor's tree numbers, the owner of a tree number and a descriptor's child rows
are looked up as rows; descendants are walked afresh for each information content unless
``cache_ic`` is set (then each descriptor's IC is computed once, as any careful implementation
would). It shares no code with ``meshdistill.mesh.kailin`` on purpose: the two must agree to
1e-9 while differing in speed. Only closed trees (every prefix of a tree number owned, as in
the full MeSH) are supported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

from meshdistill.mesh import MeshTree


def segment(tree_number: str) -> str:
    return tree_number.split(".")[0]


class KailinReference:
    def __init__(
        self, tree: MeshTree, corpus: Iterable[Sequence[str]], cache_ic: bool = True
    ) -> None:
        # The "database" tables.
        self.tree_number_rows = {ui: list(tree.tree_numbers(ui)) for ui in tree.uis}
        self.owner_rows = {tn: ui for ui, tns in self.tree_number_rows.items() for tn in tns}
        self.children_rows: dict[str, list[tuple[str, str]]] = {}
        for tn, ui in self.owner_rows.items():
            if "." in tn:
                parent = self.owner_rows[tn.rsplit(".", 1)[0]]
                self.children_rows.setdefault(parent, []).append((ui, segment(tn)))
        # Frequency table: per category, descriptor -> relative frequency, as exact fractions
        # (a float sum's rounding would decide whether S = 1 gives IC 0 or 1e-16).
        counts: dict[str, int] = {}
        for document in corpus:
            for ui in set(document):
                if ui in self.tree_number_rows:
                    counts[ui] = counts.get(ui, 0) + 1
        self.frequency: dict[str, dict[str, Fraction]] = {}
        for ui, tns in self.tree_number_rows.items():
            for category in {segment(tn) for tn in tns}:
                self.frequency.setdefault(category, {})[ui] = Fraction(counts.get(ui, 0))
        for table in self.frequency.values():
            total = sum(table.values())
            for ui in table:
                table[ui] = table[ui] / total if total else Fraction(0)
        self.cache_ic = cache_ic
        self._ic_cache: dict[str, dict[str, float]] = {}
        # MaxIC table, per category.
        self.max_ic: dict[str, float] = {}
        for ui in self.tree_number_rows:
            for category, value in self.information_content(ui).items():
                self.max_ic[category] = max(self.max_ic.get(category, 0.0), value)
        self._ic_cache.clear()

    def categories(self, ui: str) -> set[str]:
        return {segment(tn) for tn in self.tree_number_rows[ui]}

    def descendants(self, ui: str) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        stack = [ui]
        while stack:
            current = stack.pop()
            for child, category in self.children_rows.get(current, []):
                if (child, category) not in found:
                    found.add((child, category))
                    stack.append(child)
        return found

    def information_content(self, ui: str) -> dict[str, float]:
        if self.cache_ic and ui in self._ic_cache:
            return self._ic_cache[ui]
        below = self.descendants(ui)
        result = {}
        for category in self.categories(ui):
            table = self.frequency[category]
            total = sum((table.get(d, Fraction(0)) for d, c in below if c == category), Fraction(0))
            result[category] = -math.log10(total) if 0 < total <= 1 else 0.0
        if self.cache_ic:
            self._ic_cache[ui] = result
        return result

    def lowest_common_ancestor(self, a: str, b: str) -> str | None:
        best: str | None = None
        for left in self.tree_number_rows[a]:
            for right in self.tree_number_rows[b]:
                common = []
                for x, y in zip(left.split("."), right.split("."), strict=False):
                    if x != y:
                        break
                    common.append(x)
                prefix = ".".join(common)
                if best is None or len(prefix) > len(best):
                    best = prefix
        return self.owner_rows.get(best) if best else None

    def pair(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        max_a = {c: self.max_ic[c] for c in self.categories(a)}
        max_b = {c: self.max_ic[c] for c in self.categories(b)}
        ic_a, ic_b = self.information_content(a), self.information_content(b)
        summed = {c: ic_a.get(c, 0.0) + ic_b.get(c, 0.0) for c in set(ic_a) | set(ic_b)}
        lca = self.lowest_common_ancestor(a, b)
        if lca is None:
            return 0.0
        ic_lca = self.information_content(lca)
        values = []
        for c in sorted(ic_lca):
            if c in max_a and c in max_b and max_a[c] > 0 and max_b[c] > 0:
                t = (ic_lca[c] / max_a[c] + ic_lca[c] / max_b[c]) / 2
                if summed[c] > 0:
                    lin = 2 * t / summed[c]
                    jiang = 1 - min(1, summed[c] - 2 * t)
                    rel = lin * (1 - 10 ** (-t * max(max_a[c], max_b[c])))
                    values += [lin, jiang, rel]
        if not values:
            return 0.0
        clipped = [max(0.0, min(1.0, v)) for v in values]
        return sum(clipped) / len(clipped)

    def set_similarity(self, source: Sequence[str], other: Sequence[str]) -> float:
        left = [ui for ui in source if ui in self.tree_number_rows]
        right = [ui for ui in other if ui in self.tree_number_rows]
        if not left or not right:
            return 0.0
        scores = [self.pair(a, b) for a in left for b in right]
        return sum(scores) / len(scores)

    def retrieval_score(self, source: Sequence[str], retrieved: Sequence[Sequence[str]]) -> float:
        if not retrieved:
            return 0.0
        return sum(self.set_similarity(source, doc) for doc in retrieved) / len(retrieved)
