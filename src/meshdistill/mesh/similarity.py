"""Semantic similarity of MeSH descriptors and of descriptor sets, as KAILIN's scorer uses it.

Pair similarity, for descriptors ``a`` and ``b``:

* ``a == b`` scores 1 under every measure.
* Otherwise each top-level category both belong to is scored on its own, and the pair's score
  is the mean over those shared categories; no shared category scores 0.
* Within category ``c`` the lowest common ancestor ``l`` is the most informative (highest
  IC_c) descriptor that is an ancestor of both, each counting as its own ancestor. When none
  exists the category letter is the common ancestor: a virtual root with IC 0 and p 1, so the
  pair shares no information and every measure gives 0 for that category.

Measures, with IC = IC_c and p = p_c (see ``information_content``):

* ``lin``:       2 IC(l) / (IC(a) + IC(b))                    (0 when the denominator is 0)
* ``jiang``:     1 - (IC(a) + IC(b) - 2 IC(l)) / (2 max_c IC)  Jiang-Conrath distance turned
  into a similarity by dividing by its largest possible value in the category; 0 when the
  common ancestor is the virtual root (unrelated within the category), like the others.
* ``rel``:       lin × (1 - p(l))                              (Schlicker et al. 2006)
* ``wu_palmer``: max over pairs of tree numbers ``(s, t)`` in ``c`` of
  2 depth(lcp(s, t)) / (depth(s) + depth(t)), ``lcp`` the longest common tree-number prefix
  and depth counted in components (``C04`` = 1, the virtual root 0). Uses no IC.

Every score lies in [0, 1] and is symmetric in ``a`` and ``b``.

Set similarity between the source's headings ``S`` and a document's headings ``D`` (UIs the tree
does not know are dropped first; an empty side scores 0):

* ``mean`` (the paper's): mean of sim(s, d) over all |S|·|D| pairs.
* ``best_match``: (mean over s of max_d sim(s, d) + mean over d of max_s sim(s, d)) / 2.

The retrieval score is the mean set similarity over the retrieved documents (the top k).

Speed: ancestor sets and IC are precomputed per category as integer ids (``CategoryHierarchy``),
each descriptor's ancestors are pre-ordered by falling IC so the lowest common ancestor is the
first of them the other descriptor shares, and pair scores are memoised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshdistill.errors import ConfigError, UnknownDescriptorError
from meshdistill.mesh.information_content import (
    DEFAULT_CORPUS_SMOOTHING,
    IC_KINDS,
    InformationContent,
)
from meshdistill.mesh.tree import MeshTree

MEASURES = ("lin", "jiang", "rel", "wu_palmer")
SET_METHODS = ("mean", "best_match")
# Pair scores kept before the memo is emptied; about 100 bytes each.
DEFAULT_MEMO_LIMIT = 2_000_000


class SimilarityScorer:
    """Scores descriptor pairs, heading sets and retrieval results with one measure."""

    def __init__(
        self,
        tree: MeshTree,
        ic: InformationContent,
        measure: str = "lin",
        memo_limit: int = DEFAULT_MEMO_LIMIT,
    ) -> None:
        if measure not in MEASURES:
            raise ConfigError("measure", f"'{measure}' is not one of {', '.join(MEASURES)}")
        if ic.tree is not tree and ic.tree.uis != tree.uis:
            raise ConfigError("ic", "information content was computed for a different MeSH tree")
        self.tree = tree
        self.ic = ic
        self.measure = measure
        self._is_wu_palmer = measure == "wu_palmer"
        self._is_jiang = measure == "jiang"
        self._is_rel = measure == "rel"
        self._memo_limit = memo_limit
        self._memo: dict[int, float] = {}
        hierarchy = ic.hierarchy
        self._id_of = hierarchy.id_of
        self._size = len(hierarchy.uis)
        # Categories as bit masks: most random pairs share none, and one integer AND says so.
        bit_of = {category: 1 << position for position, category in enumerate(hierarchy.categories)}
        self._category_bits_of = [
            tuple((bit_of[c], c) for c in sorted(categories))
            for categories in hierarchy.categories_of
        ]
        self._category_mask = [sum(bit for bit, _ in bits) for bits in self._category_bits_of]
        self._ancestor_sets = hierarchy.ancestors
        self._paths = hierarchy.paths
        # Plain lists: indexing them is several times faster than indexing numpy arrays.
        self._ic_list = {c: ic.ic_array(c).tolist() for c in hierarchy.categories}
        self._probability_list = {c: ic.probability_array(c).tolist() for c in hierarchy.categories}
        self._max_ic = {c: ic.max_ic(c) for c in hierarchy.categories}
        self._ordered_ancestors = {
            category: {
                member: _most_informative_first(above, self._ic_list[category])
                for member, above in members.items()
            }
            for category, members in self._ancestor_sets.items()
        }

    def clear_memo(self) -> None:
        """Forget memoised pair scores (benchmarks use it to time a cold scorer)."""
        self._memo.clear()

    # ----------------------------------------------------------------- pairs
    def pair(self, a: str, b: str) -> float:
        """Similarity of two descriptors; raises UnknownDescriptorError for an unknown UI."""
        left = self._id_of.get(a)
        if left is None:
            raise UnknownDescriptorError("UI", a, self.tree.source)
        right = self._id_of.get(b)
        if right is None:
            raise UnknownDescriptorError("UI", b, self.tree.source)
        return self._pair_ids(left, right)

    def _pair_ids(self, left: int, right: int) -> float:
        if left == right:
            return 1.0
        if not self._category_mask[left] & self._category_mask[right]:
            return 0.0
        if left > right:
            left, right = right, left
        cached = self._memo.get(left * self._size + right)
        if cached is not None:
            return cached
        return self._score_and_remember(left, right)

    def _score_and_remember(self, left: int, right: int) -> float:
        """Score a pair known to share a category (``left < right``) and memoise it."""
        right_mask = self._category_mask[right]
        total = 0.0
        shared = 0
        # Categories in letter order, so the float sum is the same on every run.
        for bit, category in self._category_bits_of[left]:
            if bit & right_mask:
                total += self._category_score(left, right, category)
                shared += 1
        score = total / shared
        if len(self._memo) >= self._memo_limit:
            self._memo.clear()
        self._memo[left * self._size + right] = score
        return score

    def _category_score(self, left: int, right: int, category: str) -> float:
        if self._is_wu_palmer:
            paths = self._paths[category]
            return _wu_palmer(paths[left], paths[right])
        right_ancestors = self._ancestor_sets[category][right]
        for lowest in self._ordered_ancestors[category][left]:
            if lowest in right_ancestors:
                break
        else:
            return 0.0  # only the virtual root is common
        ics = self._ic_list[category]
        ic_left, ic_right, ic_lowest = ics[left], ics[right], ics[lowest]
        if self._is_jiang:
            largest = self._max_ic[category]
            if largest <= 0.0:
                return 1.0
            return _clamp(1.0 - (ic_left + ic_right - 2.0 * ic_lowest) / (2.0 * largest))
        denominator = ic_left + ic_right
        if denominator <= 0.0:
            return 0.0
        # IC never rises going up, so IC(l) <= min(IC(a), IC(b)) and Lin stays within [0, 1].
        lin = 2.0 * ic_lowest / denominator
        if self._is_rel:
            return lin * (1.0 - self._probability_list[category][lowest])
        return lin

    # ----------------------------------------------------------------- sets
    def known_ids(self, uis: Iterable[str]) -> list[int]:
        """Ids of the UIs the tree knows, in the given order; unknown UIs are dropped."""
        id_of = self._id_of
        return [id_of[ui] for ui in uis if ui in id_of]

    def set_similarity(
        self, source: Sequence[str], other: Sequence[str], method: str = "mean"
    ) -> float:
        """Similarity of two heading sets (UIs; unknown ones ignored); 0.0 if either is empty."""
        _check_method(method)
        return self._set_similarity_ids(self.known_ids(source), self.known_ids(other), method)

    def _set_similarity_ids(self, source: list[int], other: list[int], method: str) -> float:
        if not source or not other:
            return 0.0
        # The pair look-up is inlined: this loop is the hot path of the whole scorer.
        mask, memo, size, score = (
            self._category_mask,
            self._memo,
            self._size,
            self._score_and_remember,
        )
        keep_rows = method != "mean"
        rows = []
        total = 0.0
        for s in source:
            s_mask = mask[s]
            row = []
            for o in other:
                if s == o:
                    value = 1.0
                elif not s_mask & mask[o]:
                    value = 0.0
                else:
                    low, high = (s, o) if s < o else (o, s)
                    cached = memo.get(low * size + high)
                    value = score(low, high) if cached is None else cached
                total += value
                if keep_rows:
                    row.append(value)
            rows.append(row)
        if not keep_rows:
            return total / (len(source) * len(other))
        best_for_source = sum(max(row) for row in rows) / len(source)
        best_for_other = sum(max(column) for column in zip(*rows, strict=True)) / len(other)
        return (best_for_source + best_for_other) / 2.0

    def retrieval_score(
        self,
        source: Sequence[str],
        retrieved: Sequence[Sequence[str]],
        method: str = "mean",
        top_k: int | None = None,
    ) -> float:
        """Mean set similarity of the source to each retrieved document (the first ``top_k``).

        0.0 when nothing was retrieved. A document whose headings are all unknown scores 0 and
        still counts in the mean: it was retrieved and shares nothing known with the source.
        """
        _check_method(method)
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


def build_scorer(
    tree: MeshTree,
    measure: str = "lin",
    ic_kind: str = "intrinsic",
    corpus_annotations: Iterable[Sequence[str]] | None = None,
    smoothing: float = DEFAULT_CORPUS_SMOOTHING,
) -> SimilarityScorer:
    """A scorer from configuration values: ``ic_kind`` is ``intrinsic`` or ``corpus``."""
    if ic_kind == "intrinsic":
        ic = InformationContent.intrinsic(tree)
    elif ic_kind == "corpus":
        if corpus_annotations is None:
            raise ConfigError("ic_kind", "'corpus' needs corpus annotations to count")
        ic = InformationContent.from_corpus(tree, corpus_annotations, smoothing=smoothing)
    else:
        raise ConfigError("ic_kind", f"'{ic_kind}' is not one of {', '.join(IC_KINDS)}")
    return SimilarityScorer(tree, ic, measure=measure)


def _wu_palmer(
    left_paths: tuple[tuple[str, ...], ...], right_paths: tuple[tuple[str, ...], ...]
) -> float:
    best = 0.0
    for left in left_paths:
        for right in right_paths:
            common = 0
            for left_part, right_part in zip(left, right, strict=False):
                if left_part != right_part:
                    break
                common += 1
            if common:
                best = max(best, 2.0 * common / (len(left) + len(right)))
    return best


def _most_informative_first(ancestors: Iterable[int], ics: list[float]) -> tuple[int, ...]:
    # Ties (equal IC) fall back to the id so that the chosen ancestor never depends on set order.
    return tuple(sorted(ancestors, key=lambda ancestor: (-ics[ancestor], ancestor)))


def _clamp(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def _check_method(method: str) -> None:
    if method not in SET_METHODS:
        raise ConfigError("method", f"'{method}' is not one of {', '.join(SET_METHODS)}")
