"""Property tests: range, symmetry, identity, and agreement with a naive re-implementation.

The naive scorer below recomputes everything from tree numbers on every call (ancestors climbed,
descendants counted by scanning all descriptors), so it shares no code with the fast path.
"""

from __future__ import annotations

from math import log
from statistics import fmean

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshdistill.mesh import MEASURES, InformationContent, MeshTree, SimilarityScorer
from meshdistill.mesh.descriptor import category_of, common_prefix_depth, tree_depth

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def in_category(tree: MeshTree, ui: str, category: str) -> bool:
    return category in tree.categories(ui)


def naive_category_ancestors(tree: MeshTree, ui: str, category: str) -> set[str]:
    """``ui`` and everything above it, climbing parent tree numbers in ``category``."""
    found = {ui}
    for tree_number in tree.tree_numbers(ui):
        if category_of(tree_number) == category and "." in tree_number:
            parent = tree.ui_for_tree_number(tree_number.rsplit(".", 1)[0])
            found |= naive_category_ancestors(tree, parent, category)
    return found


def naive_hyponyms(tree: MeshTree, ui: str, category: str) -> int:
    return sum(
        1
        for other in tree.uis
        if other != ui
        and in_category(tree, other, category)
        and ui in naive_category_ancestors(tree, other, category)
    )


def naive_pair(tree: MeshTree, a: str, b: str, measure: str) -> float:
    if a == b:
        return 1.0
    shared = sorted(tree.categories(a) & tree.categories(b))
    if not shared:
        return 0.0
    scores = []
    for category in shared:
        nodes = sum(1 for ui in tree.uis if in_category(tree, ui, category)) + 1

        def ic(ui: str, category: str = category, nodes: int = nodes) -> float:
            return 1 - log(naive_hyponyms(tree, ui, category) + 1) / log(nodes)

        if measure == "wu_palmer":
            scores.append(
                max(
                    2 * common_prefix_depth(s, t) / (tree_depth(s) + tree_depth(t))
                    for s in tree.tree_numbers(a)
                    if category_of(s) == category
                    for t in tree.tree_numbers(b)
                    if category_of(t) == category
                )
            )
            continue
        common = naive_category_ancestors(tree, a, category) & naive_category_ancestors(
            tree, b, category
        )
        if not common:
            scores.append(0.0)
            continue
        lowest = max(common, key=ic)
        ic_a, ic_b, ic_l = ic(a), ic(b), ic(lowest)
        lin = 2 * ic_l / (ic_a + ic_b) if ic_a + ic_b > 0 else 0.0
        if measure == "lin":
            scores.append(lin)
        elif measure == "rel":
            scores.append(lin * (1 - (naive_hyponyms(tree, lowest, category) + 1) / nodes))
        else:
            largest = max(ic(ui) for ui in tree.uis if in_category(tree, ui, category))
            scores.append(1 - (ic_a + ic_b - 2 * ic_l) / (2 * largest))
    return fmean(scores)


@pytest.fixture(scope="module")
def bundled_scorers(bundled_tree: MeshTree) -> dict[str, SimilarityScorer]:
    ic = InformationContent.intrinsic(bundled_tree)
    return {measure: SimilarityScorer(bundled_tree, ic, measure) for measure in MEASURES}


def bundled_uis() -> st.SearchStrategy[str]:
    from tests.mesh.conftest import BUNDLED_SUBSET

    if not BUNDLED_SUBSET.is_file():
        return st.just("absent")
    return st.sampled_from(MeshTree.from_descriptor_xml(BUNDLED_SUBSET).uis)


@PROPERTY_SETTINGS
@given(a=bundled_uis(), b=bundled_uis(), measure=st.sampled_from(MEASURES))
def test_range_symmetry_identity(
    bundled_scorers: dict[str, SimilarityScorer], a: str, b: str, measure: str
) -> None:
    scorer = bundled_scorers[measure]
    score = scorer.pair(a, b)
    assert 0.0 <= score <= 1.0
    assert scorer.pair(b, a) == score
    assert scorer.pair(a, a) == 1.0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(a=bundled_uis(), b=bundled_uis(), measure=st.sampled_from(MEASURES))
def test_fast_scorer_matches_naive(
    bundled_tree: MeshTree, bundled_scorers: dict[str, SimilarityScorer], a: str, b: str,
    measure: str,
) -> None:  # fmt: skip
    expected = naive_pair(bundled_tree, a, b, measure)
    assert bundled_scorers[measure].pair(a, b) == pytest.approx(expected, abs=1e-12)


@PROPERTY_SETTINGS
@given(
    corpus=st.lists(st.lists(bundled_uis(), max_size=6), max_size=30),
    a=bundled_uis(),
    b=bundled_uis(),
    measure=st.sampled_from(MEASURES),
    smoothing=st.floats(min_value=0.01, max_value=5.0),
)
def test_corpus_ic_scores_stay_in_range(
    bundled_tree: MeshTree,
    corpus: list[list[str]],
    a: str,
    b: str,
    measure: str,
    smoothing: float,
) -> None:
    ic = InformationContent.from_corpus(bundled_tree, corpus, smoothing=smoothing)
    scorer = SimilarityScorer(bundled_tree, ic, measure)
    score = scorer.pair(a, b)
    assert 0.0 <= score <= 1.0
    assert scorer.pair(b, a) == score
    assert scorer.pair(a, a) == 1.0
    for category in bundled_tree.categories(a):
        assert ic.ic(a, category) >= 0.0
        for ancestor in naive_category_ancestors(bundled_tree, a, category):
            # IC never rises going up: that is what makes the lowest common ancestor the MICA.
            assert ic.ic(ancestor, category) <= ic.ic(a, category) + 1e-12


@PROPERTY_SETTINGS
@given(
    source=st.lists(bundled_uis(), max_size=8),
    other=st.lists(bundled_uis(), max_size=8),
    method=st.sampled_from(("mean", "best_match")),
    measure=st.sampled_from(MEASURES),
)
def test_set_scores_in_range(
    bundled_scorers: dict[str, SimilarityScorer],
    source: list[str],
    other: list[str],
    method: str,
    measure: str,
) -> None:
    scorer = bundled_scorers[measure]
    score = scorer.set_similarity(source, other, method)
    assert 0.0 <= score <= 1.0
    if method == "best_match":
        assert score == pytest.approx(scorer.set_similarity(other, source, method), abs=1e-12)
        if source:
            assert scorer.set_similarity(source, source, method) == pytest.approx(1.0)
