"""Heading-set and retrieval scores over any memoised descriptor-pair similarity.

Both the textbook measures (``similarity.SimilarityScorer``) and KAILIN's released scorer
(``kailin.KailinScorer``) score pairs of descriptors; everything above the pair is shared and
lives here:

* Set similarity between the source's headings ``S`` and a document's headings ``D`` (UIs the
  tree does not know, and excluded headings, are dropped first; an empty side scores 0):
  ``mean`` (the paper's) is the mean of sim(s, d) over all |S|·|D| pairs; ``best_match`` is
  (mean over s of max_d sim(s, d) + mean over d of max_s sim(s, d)) / 2.
* The retrieval score is the mean set similarity over the retrieved documents (the top k).

Pairs that share no category score 0 under every measure, so categories are kept as bit masks
(one integer AND settles most random pairs) and only the other pairs reach the subclass's
``_compute``. Pair scores are memoised by id; a symmetric measure stores one entry per
unordered pair, an ordered one (KAILIN's: its tie-break depends on argument order) one per
ordered pair.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from meshdistill.errors import ConfigError, UnknownDescriptorError
from meshdistill.mesh.tree import MeshTree

SET_METHODS = ("mean", "best_match")
# Pair scores kept before the memo is emptied; about 100 bytes each.
DEFAULT_MEMO_LIMIT = 2_000_000


class HeadingSetScorer(ABC):
    """Set and retrieval scores over the pair score of a subclass.

    Subclasses call ``_init_pairs`` and implement ``_compute(first, second)`` for two distinct
    ids that share a category.
    """

    measure: str
    tree: MeshTree
    symmetric: bool = True

    def _init_pairs(
        self,
        tree: MeshTree,
        categories_of: Sequence[Iterable[str]],
        exclude: Iterable[str],
        memo_limit: int,
    ) -> None:
        self.tree = tree
        self._id_of = {ui: index for index, ui in enumerate(tree.uis)}
        self._size = len(tree.uis)
        all_categories = sorted({c for categories in categories_of for c in categories})
        bit_of = {category: 1 << position for position, category in enumerate(all_categories)}
        self._bit_of = bit_of
        self._category_mask = [sum(bit_of[c] for c in set(cats)) for cats in categories_of]
        self.excluded = frozenset(exclude)
        # UI -> id for the UIs that take part in scoring (known and not excluded).
        self._usable_id = {ui: i for ui, i in self._id_of.items() if ui not in self.excluded}
        self._memo_limit = memo_limit
        self._memo: dict[int, float] = {}

    @abstractmethod
    def _compute(self, first: int, second: int) -> float:
        """The similarity of two descriptor ids (each measure family defines its own)."""

    def clear_memo(self) -> None:
        """Forget memoised pair scores (benchmarks use it to time a cold scorer)."""
        self._memo.clear()

    # ----------------------------------------------------------------- pairs
    def pair(self, a: str, b: str) -> float:
        """Similarity of two descriptors; raises UnknownDescriptorError for an unknown UI."""
        first = self._id_of.get(a)
        if first is None:
            raise UnknownDescriptorError("UI", a, self.tree.source)
        second = self._id_of.get(b)
        if second is None:
            raise UnknownDescriptorError("UI", b, self.tree.source)
        return self._pair_ids(first, second)

    def _score_and_remember(self, first: int, second: int) -> float:
        """Score a pair known to share a category (ordered as the memo keys it) and memoise."""
        score = self._compute(first, second)
        if len(self._memo) >= self._memo_limit:
            self._memo.clear()
        self._memo[first * self._size + second] = score
        return score

    # ----------------------------------------------------------------- sets
    def known_ids(self, uis: Iterable[str]) -> list[int]:
        """Ids of the UIs the tree knows and that are not excluded, in the given order."""
        usable = self._usable_id
        return [usable[ui] for ui in uis if ui in usable]

    def set_similarity(
        self, source: Sequence[str], other: Sequence[str], method: str = "mean"
    ) -> float:
        """Similarity of two heading sets (UIs; unknown ones ignored); 0.0 if either is empty."""
        check_set_method(method)
        return self._set_similarity_ids(self.known_ids(source), self.known_ids(other), method)

    def _set_similarity_ids(self, source: list[int], other: list[int], method: str) -> float:
        if not source or not other:
            return 0.0
        if method == "mean":
            return self._mean_ids(source, other)
        rows = [[self._pair_ids(s, o) for o in other] for s in source]
        best_for_source = sum(max(row) for row in rows) / len(source)
        best_for_other = sum(max(column) for column in zip(*rows, strict=True)) / len(other)
        return (best_for_source + best_for_other) / 2.0

    def _pair_ids(self, first: int, second: int) -> float:
        if first == second:
            return 1.0
        if not self._category_mask[first] & self._category_mask[second]:
            return 0.0
        if self.symmetric and first > second:
            first, second = second, first
        cached = self._memo.get(first * self._size + second)
        return self._score_and_remember(first, second) if cached is None else cached

    def _mean_ids(self, source: list[int], other: list[int]) -> float:
        """Mean over all pairs; the hot path of the whole scorer, so its look-ups are inlined.

        Only pairs sharing a category can score above 0, and a source heading sharing none
        with the other side as a whole is passed over in one integer AND.
        """
        mask, memo, size, score = (
            self._category_mask,
            self._memo,
            self._size,
            self._score_and_remember,
        )
        symmetric = self.symmetric
        other_masks = [(o, mask[o]) for o in other]
        other_union = 0
        for _, o_mask in other_masks:
            other_union |= o_mask
        total = 0.0
        for s in source:
            s_mask = mask[s]
            if not s_mask & other_union:
                if s in other:  # a heading placed nowhere in the tree still matches itself
                    total += other.count(s)
                continue
            for o, o_mask in other_masks:
                if not o_mask & s_mask:
                    continue
                if o == s:
                    total += 1.0
                    continue
                first, second = (o, s) if symmetric and o < s else (s, o)
                cached = memo.get(first * size + second)
                total += score(first, second) if cached is None else cached
        return total / (len(source) * len(other))

    def retrieval_score(
        self,
        source: Sequence[str],
        retrieved: Sequence[Sequence[str]],
        method: str = "mean",
        top_k: int | None = None,
    ) -> float:
        """Mean set similarity of the source to each retrieved document (the first ``top_k``).

        0.0 when nothing was retrieved. A document whose headings are all unknown (or excluded)
        scores 0 and still counts in the mean: it was retrieved and shares nothing with the
        source.
        """
        check_set_method(method)
        if top_k is not None and top_k < 1:
            raise ConfigError("top_k", f"must be at least 1 (or None), got {top_k}")
        documents = list(retrieved if top_k is None else retrieved[:top_k])
        if not documents:
            return 0.0
        source_ids = self.known_ids(source)
        total = 0.0
        for document in documents:
            total += self._set_similarity_ids(source_ids, self.known_ids(document), method)
        return total / len(documents)


def check_set_method(method: str) -> None:
    if method not in SET_METHODS:
        raise ConfigError("method", f"'{method}' is not one of {', '.join(SET_METHODS)}")
