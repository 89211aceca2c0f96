"""The textbook semantic similarity measures of MeSH descriptors (Lin, Jiang-Conrath, Rel,
Wu-Palmer). KAILIN's released scorer differs from them and lives in ``kailin``.

Pair similarity, for descriptors ``a`` and ``b``:

* ``a == b`` scores 1 under every measure.
* Otherwise each category both belong to is scored on its own, and the pair's score is the mean
  over those shared categories; no shared category scores 0. A category is the tree numbers'
  first letter or first segment, as the information content was built (``scoring.category``).
* Within category ``c`` the lowest common ancestor ``l`` is the most informative (highest
  IC_c) descriptor that is an ancestor of both, each counting as its own ancestor. When none
  exists the category is the common ancestor: a virtual root with IC 0 and p 1, so the
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

Every score lies in [0, 1] and is symmetric in ``a`` and ``b``. Set and retrieval scores are
built on the pair score in ``set_scorer``.

Speed: ancestor sets and IC are precomputed per category as integer ids (``CategoryHierarchy``),
each descriptor's ancestors are pre-ordered by falling IC so the lowest common ancestor is the
first of them the other descriptor shares, and pair scores are memoised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import ConfigError
from meshdistill.mesh.information_content import (
    DEFAULT_CORPUS_SMOOTHING,
    IC_KINDS,
    InformationContent,
)
from meshdistill.mesh.kailin import KAILIN_MEASURE, KailinInformationContent, KailinScorer
from meshdistill.mesh.set_scorer import DEFAULT_MEMO_LIMIT, SET_METHODS, HeadingSetScorer
from meshdistill.mesh.tree import MeshTree

__all__ = ["ALL_MEASURES", "MEASURES", "SET_METHODS", "SimilarityScorer", "build_scorer"]

# The textbook measures; ALL_MEASURES adds KAILIN's released scorer (module ``kailin``).
MEASURES = ("lin", "jiang", "rel", "wu_palmer")
ALL_MEASURES = (*MEASURES, KAILIN_MEASURE)


class SimilarityScorer(HeadingSetScorer):
    """Scores descriptor pairs, heading sets and retrieval results with one textbook measure.

    The categories are those of the information content (``letter`` or ``segment``, as it was
    built); ``exclude`` names headings (UIs) dropped from every set before scoring.
    """

    def __init__(
        self,
        tree: MeshTree,
        ic: InformationContent,
        measure: str = "lin",
        memo_limit: int = DEFAULT_MEMO_LIMIT,
        exclude: Iterable[str] = (),
    ) -> None:
        if measure not in MEASURES:
            raise ConfigError("measure", f"'{measure}' is not one of {', '.join(MEASURES)}")
        if ic.tree is not tree and ic.tree.uis != tree.uis:
            raise ConfigError("ic", "information content was computed for a different MeSH tree")
        self.ic = ic
        self.measure = measure
        self._is_wu_palmer = measure == "wu_palmer"
        self._is_jiang = measure == "jiang"
        self._is_rel = measure == "rel"
        hierarchy = ic.hierarchy
        self._init_pairs(tree, hierarchy.categories_of, exclude, memo_limit)
        self._categories_of = hierarchy.sorted_categories_of
        self._ancestor_sets = hierarchy.ancestors
        self._paths = hierarchy.paths
        self._max_ic = {c: ic.max_ic(c) for c in hierarchy.categories}
        # A descriptor's ancestors, most informative first, sorted when first scored (a job
        # scores a few hundred descriptors of the tens of thousands).
        self._ordered_ancestors: dict[str, dict[int, tuple[int, ...]]] = {
            category: {} for category in hierarchy.categories
        }

    def _most_informative_ancestors(self, member: int, category: str) -> tuple[int, ...]:
        ordered = self._ordered_ancestors[category]
        found = ordered.get(member)
        if found is None:
            found = _most_informative_first(
                self._ancestor_sets[category][member], self.ic.ic_list(category)
            )
            ordered[member] = found
        return found

    def _compute(self, first: int, second: int) -> float:
        """Mean over the shared categories (in sorted order, so the float sum is the same on
        every run)."""
        second_categories = self._categories_of[second]
        total = 0.0
        shared = 0
        for category in self._categories_of[first]:
            if category in second_categories:
                total += self._category_score(first, second, category)
                shared += 1
        return total / shared

    def _category_score(self, left: int, right: int, category: str) -> float:
        if self._is_wu_palmer:
            paths = self._paths[category]
            return _wu_palmer(paths[left], paths[right])
        right_ancestors = self._ancestor_sets[category][right]
        for lowest in self._most_informative_ancestors(left, category):
            if lowest in right_ancestors:
                break
        else:
            return 0.0  # only the virtual root is common
        ics = self.ic.ic_list(category)
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
            return lin * (1.0 - self.ic.probability_list(category)[lowest])
        return lin


def build_scorer(
    tree: MeshTree,
    measure: str = "lin",
    ic_kind: str = "intrinsic",
    corpus_annotations: Iterable[Sequence[str]] | AnnotationCounts | None = None,
    smoothing: float = DEFAULT_CORPUS_SMOOTHING,
    category: str = "letter",
    exclude: Iterable[str] = (),
) -> HeadingSetScorer:
    """A scorer from configuration values.

    ``measure`` is one of ``ALL_MEASURES``. For the textbook measures ``ic_kind`` is
    ``intrinsic`` or ``corpus`` and ``category`` the convention (``letter`` or ``segment``);
    ``kailin`` always counts corpus annotations its own way, by segment, and ignores both.
    """
    if measure == KAILIN_MEASURE:
        if corpus_annotations is None:
            raise ConfigError("measure", "'kailin' needs corpus annotations to count")
        kailin_ic = KailinInformationContent(tree, corpus_annotations)
        return KailinScorer(tree, kailin_ic, exclude=exclude)
    if measure not in MEASURES:
        raise ConfigError("measure", f"'{measure}' is not one of {', '.join(ALL_MEASURES)}")
    if ic_kind == "intrinsic":
        ic = InformationContent.intrinsic(tree, category=category)
    elif ic_kind == "corpus":
        if corpus_annotations is None:
            raise ConfigError("ic_kind", "'corpus' needs corpus annotations to count")
        ic = InformationContent.from_corpus(
            tree, corpus_annotations, smoothing=smoothing, category=category
        )
    else:
        raise ConfigError("ic_kind", f"'{ic_kind}' is not one of {', '.join(IC_KINDS)}")
    return SimilarityScorer(tree, ic, measure=measure, exclude=exclude)


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
