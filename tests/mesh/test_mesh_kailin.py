"""KAILIN's released scorer (``scoring.measure: kailin``): values worked out by hand on a tiny
tree, and agreement with a straightforward transcription on the full 2017 tree."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from kailin_reference import KailinReference

from meshdistill.mesh import (
    DescriptorRecord,
    KailinInformationContent,
    KailinScorer,
    MeshTree,
    build_scorer,
)

# The hand tree (categories are first segments, A1 and B1):
#
#   A1 R ─┬─ A1.1 P ─┬─ A1.1.1 X            B1 T ─┬─ B1.1 X
#         │          └─ A1.1.2 Y ── A1.1.2.1 Z     └─ B1.2 Y
#         └─ A1.22 Q
#
# Corpus: n(X) = 2, n(Z) = 2, n(P) = 1, n(Q) = 1, n(T) = 1, R and Y never annotated. So in A1
# (total 6): p(P) = 1/6, p(X) = 2/6, p(Z) = 2/6, p(Q) = 1/6; in B1 (total 3): p(T) = 1/3,
# p(X) = 2/3, p(Y) = 0.
HAND = (
    DescriptorRecord("R", "Root", ("A1",)),
    DescriptorRecord("P", "Parent", ("A1.1",)),
    DescriptorRecord("X", "Leaf X", ("A1.1.1", "B1.1")),
    DescriptorRecord("Y", "Inner Y", ("A1.1.2", "B1.2")),
    DescriptorRecord("Z", "Leaf Z", ("A1.1.2.1",)),
    DescriptorRecord("Q", "Leaf Q", ("A1.22",)),
    DescriptorRecord("T", "Root T", ("B1",)),
)
HAND_CORPUS = [["X"], ["Z"], ["Z", "Q", "Z"], ["P"], ["X", "T"], ["unknown-ui", "other-unknown"]]

# By hand: S_A1(P) = p(X) + p(Y) + p(Z) = 4/6; S_A1(Y) = p(Z) = 2/6; S_A1(R) = 1 (IC 0);
# leaves have S = 0 (IC 0); S_B1(T) = p_B1(X) + p_B1(Y) = 2/3 (Z is reached through Y but in A1).
IC_P = math.log10(3 / 2)
IC_Y = math.log10(3)
IC_T = math.log10(3 / 2)
MAX_A1 = IC_Y
MAX_B1 = IC_T


@pytest.fixture(scope="module")
def hand() -> KailinScorer:
    tree = MeshTree.from_records(HAND)
    return KailinScorer(tree, KailinInformationContent(tree, HAND_CORPUS))


def ic(scorer: KailinScorer, ui: str) -> dict[str, float]:
    return scorer.ic.ic[scorer.ic.id_of[ui]]


def test_information_content_by_hand(hand: KailinScorer) -> None:
    assert hand.ic.ignored_annotations == 2
    assert ic(hand, "P") == {"A1": pytest.approx(IC_P, abs=1e-15)}
    assert ic(hand, "Y") == {"A1": pytest.approx(IC_Y, abs=1e-15), "B1": 0.0}
    assert ic(hand, "T") == {"B1": pytest.approx(IC_T, abs=1e-15)}
    # 0 < S <= 1 or IC 0: leaves (S = 0) and the root, whose descendants hold everything (S = 1).
    assert ic(hand, "X") == {"A1": 0.0, "B1": 0.0}
    assert ic(hand, "Z") == {"A1": 0.0}
    assert ic(hand, "R")["A1"] == pytest.approx(0.0, abs=1e-15)
    assert hand.ic.max_ic == {
        "A1": pytest.approx(MAX_A1, abs=1e-15),
        "B1": pytest.approx(MAX_B1, abs=1e-15),
    }


def test_lca_skips_a_category_it_lacks_and_values_are_clipped(hand: KailinScorer) -> None:
    # X and Y share A1 and B1; their LCA is P (A1.1, longer than B1), which has no B1 place,
    # so only A1 is scored. t = IC(P)/MaxIC, s = IC(X) + IC(Y) = IC(Y).
    assert hand.lowest_common_ancestor("X", "Y") == "P"
    t = IC_P / MAX_A1
    s = IC_Y
    lin = 2 * t / s  # 1.547...: clipped to 1
    jiang = 1 - min(1, s - 2 * t)  # 1.261...: clipped to 1
    rel = lin * (1 - 10 ** (-t * MAX_A1))  # uses the unclipped lin: 0.5157
    assert lin > 1 and jiang > 1 and 0 < rel < 1
    assert hand.pair("X", "Y") == pytest.approx((1 + 1 + rel) / 3, abs=1e-12)


def test_zero_ic_lca_still_gives_jiang(hand: KailinScorer) -> None:
    # P and Q meet at the root R (IC 0): t = 0, s = IC(P), so lin = rel = 0, jiang = 1 - IC(P).
    assert hand.lowest_common_ancestor("P", "Q") == "R"
    assert hand.pair("P", "Q") == pytest.approx((1 - IC_P) / 3, abs=1e-12)
    # Z and Q also meet at R but both have IC 0: s = 0, nothing computed, 0.
    assert hand.pair("Z", "Q") == 0.0


def test_identical_unrelated_and_sets(hand: KailinScorer) -> None:
    assert hand.pair("Q", "Q") == 1.0
    assert hand.pair("Q", "T") == 0.0  # no common prefix
    # X under T in B1: t = 1, s = IC(T); all three values clip to 1.
    assert hand.pair("X", "T") == 1.0
    pair_xy = hand.pair("X", "Y")
    pair_qy = (1 - IC_Y) / 3  # meet at R: only jiang is non-zero
    assert hand.pair("Q", "Y") == pytest.approx(pair_qy, abs=1e-12)
    expected_set = (pair_xy + 1.0 + pair_qy + 0.0) / 4  # (X,Y) (X,T) (Q,Y) (Q,T)
    assert hand.set_similarity(["X", "Q"], ["Y", "T"]) == pytest.approx(expected_set)
    # Question score: mean over the top-k documents; unknown headings are dropped.
    documents = [["Y", "T", "nope"], ["Q"], ["Z"]]
    expected = (expected_set + (0.0 + 1.0) / 2 + hand.set_similarity(["X", "Q"], ["Z"])) / 3
    assert hand.retrieval_score(["X", "Q"], documents) == pytest.approx(expected)
    assert hand.retrieval_score(["X", "Q"], documents, top_k=1) == pytest.approx(expected_set)


def test_excluded_headings_leave_both_sides(hand: KailinScorer) -> None:
    tree = hand.tree
    excluding = KailinScorer(tree, hand.ic, exclude=["T"])
    assert excluding.set_similarity(["X", "Q", "T"], ["Y", "T"]) == pytest.approx(
        hand.set_similarity(["X", "Q"], ["Y"])
    )


# String-length LCA and the first-kept tie-break, on a tree with uneven segment widths.
LCA_TREE = (
    DescriptorRecord("C", "C root", ("C1",)),
    DescriptorRecord("C11", "C child", ("C1.1",)),
    DescriptorRecord("U", "U", ("C1.1.1", "D111.2222.3")),
    DescriptorRecord("V", "V", ("C1.1.1.5", "D111.2222.4")),
    DescriptorRecord("D", "D root", ("D111",)),
    DescriptorRecord("W", "W", ("D111.2222",)),
    DescriptorRecord("E", "E root", ("E1",)),
    DescriptorRecord("E11", "E child", ("E1.1",)),
    DescriptorRecord("F", "F root", ("F1",)),
    DescriptorRecord("F11", "F child", ("F1.1",)),
    DescriptorRecord("G", "G", ("E1.1.1", "F1.1.1")),
    DescriptorRecord("H", "H", ("F1.1.2", "E1.1.2")),
)


def test_lca_compares_prefix_string_lengths_and_keeps_the_first_on_ties() -> None:
    tree = MeshTree.from_records(LCA_TREE)
    scorer = KailinScorer(tree, KailinInformationContent(tree, [["V"], ["H"]]))
    # By depth the LCA would be U itself (C1.1.1, 3 segments, 6 characters); the release
    # prefers D111.2222 (2 segments, 9 characters).
    assert tree.lowest_common_ancestors("U", "V") == frozenset({"U"})
    assert scorer.lowest_common_ancestor("U", "V") == "W"
    # E1.1 and F1.1 tie at 4 characters: the first pair found wins, so the order matters.
    assert scorer.lowest_common_ancestor("G", "H") == "E11"
    assert scorer.lowest_common_ancestor("H", "G") == "F11"


def test_build_scorer_needs_a_corpus_for_kailin() -> None:
    tree = MeshTree.from_records(HAND)
    with pytest.raises(Exception, match="corpus annotations"):
        build_scorer(tree, "kailin")
    scorer = build_scorer(tree, "kailin", corpus_annotations=HAND_CORPUS)
    assert scorer.measure == "kailin"
    assert scorer.pair("P", "Q") == pytest.approx((1 - IC_P) / 3)


def test_matches_the_transcription_on_the_hand_trees() -> None:
    for records, corpus in ((HAND, HAND_CORPUS), (LCA_TREE, [["V"], ["H"], ["W", "U"]])):
        tree = MeshTree.from_records(records)
        scorer = KailinScorer(tree, KailinInformationContent(tree, corpus))
        reference = KailinReference(tree, corpus)
        for a in tree.uis:
            for b in tree.uis:
                assert scorer.pair(a, b) == pytest.approx(reference.pair(a, b), abs=1e-12), (a, b)


def test_full_tree_matches_the_transcription(shared_mesh_dir: Path) -> None:
    tree = MeshTree.from_tree_tsv(shared_mesh_dir / "MeshTreeHierarchy2017.tsv")
    rng = random.Random(10)
    uis = list(tree.uis)
    # A corpus skewed towards a few branches, so that many descriptors have IC > 0.
    popular = [ui for ui in uis if tree.tree_numbers(ui)[0][:3] in {"C04", "C14", "D27"}]
    corpus = [rng.sample(popular, 6) + rng.sample(uis, 4) for _ in range(3000)]
    scorer = KailinScorer(tree, KailinInformationContent(tree, corpus))
    reference = KailinReference(tree, corpus, cache_ic=True)
    for _ in range(150):
        source = rng.sample(popular, 4) + rng.sample(uis, 2)
        retrieved = [rng.sample(popular, 3) + rng.sample(uis, 2) for _ in range(3)]
        assert scorer.retrieval_score(source, retrieved) == pytest.approx(
            reference.retrieval_score(source, retrieved), abs=1e-9
        )
