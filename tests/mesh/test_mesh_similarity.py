"""Information content and similarity measures, checked against values worked out by hand.

Hand tree (see conftest): category A has 7 descriptors (8 nodes with the virtual root),
category B has 4 (5 nodes). Hyponym counts: A: D1 5, D2 2, D5 1, D6 1, leaves 0;
B: D7 3, D3 1 (D9 below B01.1), D8 0, D9 0.
"""

from __future__ import annotations

from math import isclose, log

import pytest

from meshdistill.errors import ConfigError, UnknownDescriptorError
from meshdistill.mesh import InformationContent, MeshTree, SimilarityScorer, build_scorer

ln = log


def seco(hyponyms: int, nodes: int) -> float:
    return 1 - ln(hyponyms + 1) / ln(nodes)


IC_A = {"D1": seco(5, 8), "D2": seco(2, 8), "D3": 1.0, "D4": 1.0, "D5": seco(1, 8),
        "D6": seco(1, 8), "D9": 1.0}  # fmt: skip
IC_B = {"D7": seco(3, 5), "D3": seco(1, 5), "D8": 1.0, "D9": 1.0}


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-12)


def test_intrinsic_ic(hand_tree: MeshTree) -> None:
    ic = InformationContent.intrinsic(hand_tree)
    for ui, value in IC_A.items():
        assert ic.ic(ui, "A") == approx(value)
    for ui, value in IC_B.items():
        assert ic.ic(ui, "B") == approx(value)
    assert ic.probability("D1", "A") == approx(6 / 8)
    assert ic.probability("D3", "B") == approx(2 / 5)
    assert ic.max_ic("A") == 1.0
    with pytest.raises(UnknownDescriptorError, match="category B"):
        ic.ic("D1", "B")
    with pytest.raises(UnknownDescriptorError, match="'D0'"):
        ic.ic("D0", "A")


CORPUS = [["D3", "D3", "D4"], ["D4"], ["D9", "D404"], ["D8"]]
# With add-one smoothing the weights are count + 1:
#   A: D1 1, D2 1, D3 2, D4 3, D5 1, D6 1, D9 2 -> total 11
#   B: D7 1, D3 2, D8 2, D9 2                   -> total 7
CORPUS_FREQ_A = {"D1": 10, "D2": 6, "D3": 2, "D4": 3, "D5": 3, "D6": 4, "D9": 2}
CORPUS_FREQ_B = {"D7": 7, "D3": 4, "D8": 2, "D9": 2}


def test_corpus_ic(hand_tree: MeshTree) -> None:
    ic = InformationContent.from_corpus(hand_tree, CORPUS)
    for ui, freq in CORPUS_FREQ_A.items():
        assert ic.ic(ui, "A") == approx(-ln(freq / 11))
        assert ic.probability(ui, "A") == approx(freq / 11)
    for ui, freq in CORPUS_FREQ_B.items():
        assert ic.ic(ui, "B") == approx(-ln(freq / 7))
    assert ic.ic("D7", "B") == 0.0  # covers the whole category
    assert ic.ignored_annotations == 1
    assert ic.max_ic("A") == approx(ln(11 / 2))
    with pytest.raises(ConfigError, match="smoothing"):
        InformationContent.from_corpus(hand_tree, CORPUS, smoothing=0)


def lin(ic: dict[str, float], a: str, b: str, lca: str) -> float:
    return 2 * ic[lca] / (ic[a] + ic[b])


# (a, b) -> expected score, per measure, intrinsic IC. D3/D9 share A (lca D1) and B (lca D3).
HAND_EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    "lin": {
        ("D3", "D4"): lin(IC_A, "D3", "D4", "D2"),
        ("D4", "D6"): lin(IC_A, "D4", "D6", "D6"),  # D6 (IC seco(1,8)) beats D2 (seco(2,8))
        ("D3", "D8"): lin(IC_B, "D3", "D8", "D7"),  # only B is shared
        ("D3", "D9"): (lin(IC_A, "D3", "D9", "D1") + lin(IC_B, "D3", "D9", "D3")) / 2,
        ("D5", "D6"): 0.0,  # same category, no common ancestor
        ("D1", "D7"): 0.0,  # no shared category
        ("D2", "D2"): 1.0,
    },
    "jiang": {
        ("D3", "D4"): 1 - (1 + 1 - 2 * IC_A["D2"]) / 2,
        ("D4", "D6"): 1 - (1 + IC_A["D6"] - 2 * IC_A["D6"]) / 2,
        ("D3", "D8"): 1 - (IC_B["D3"] + 1 - 2 * IC_B["D7"]) / 2,
        ("D3", "D9"): ((1 - (2 - 2 * IC_A["D1"]) / 2) + (1 - (IC_B["D3"] + 1 - 2 * IC_B["D3"]) / 2))
        / 2,
        ("D5", "D6"): 0.0,
        ("D1", "D7"): 0.0,
        ("D2", "D2"): 1.0,
    },
    "rel": {
        ("D3", "D4"): lin(IC_A, "D3", "D4", "D2") * (1 - 3 / 8),
        ("D4", "D6"): lin(IC_A, "D4", "D6", "D6") * (1 - 2 / 8),
        ("D3", "D8"): lin(IC_B, "D3", "D8", "D7") * (1 - 4 / 5),
        ("D3", "D9"): (
            lin(IC_A, "D3", "D9", "D1") * (1 - 6 / 8) + lin(IC_B, "D3", "D9", "D3") * (1 - 2 / 5)
        )
        / 2,
        ("D5", "D6"): 0.0,
        ("D1", "D7"): 0.0,
        ("D2", "D2"): 1.0,
    },
    "wu_palmer": {
        ("D3", "D4"): 2 * 2 / (3 + 3),  # A01.1.1 / A01.1.2 share A01.1
        ("D4", "D6"): 2 * 1 / (2 + 1),  # A02.1 / A02
        ("D3", "D8"): 2 * 1 / (2 + 2),  # B01.1 / B01.2
        ("D3", "D9"): (2 * 1 / (3 + 3) + 2 * 2 / (2 + 3)) / 2,
        ("D5", "D6"): 0.0,
        ("D1", "D7"): 0.0,
        ("D2", "D2"): 1.0,
    },
}


@pytest.mark.parametrize("measure", sorted(HAND_EXPECTED))
def test_pair_values_by_hand(hand_tree: MeshTree, measure: str) -> None:
    scorer = build_scorer(hand_tree, measure=measure)
    for (a, b), expected in HAND_EXPECTED[measure].items():
        assert scorer.pair(a, b) == approx(expected), (a, b)
        assert scorer.pair(b, a) == scorer.pair(a, b)


def test_corpus_lin_and_jiang_by_hand(hand_tree: MeshTree) -> None:
    ic = InformationContent.from_corpus(hand_tree, CORPUS)
    ic3, ic4, ic2 = ln(11 / 2), ln(11 / 3), ln(11 / 6)
    lin_scorer = SimilarityScorer(hand_tree, ic, "lin")
    assert lin_scorer.pair("D3", "D4") == approx(2 * ic2 / (ic3 + ic4))
    jiang = SimilarityScorer(hand_tree, ic, "jiang")
    assert jiang.pair("D3", "D4") == approx(1 - (ic3 + ic4 - 2 * ic2) / (2 * ln(11 / 2)))
    # In B the root-covering D7 has IC 0: Lin of D8 and D9 under it is 0, Rel too.
    assert lin_scorer.pair("D8", "D9") == 0.0
    corpus_built = build_scorer(hand_tree, "lin", "corpus", CORPUS)
    assert corpus_built.pair("D3", "D4") == lin_scorer.pair("D3", "D4")


SOURCE = ["D3", "D4"]
DOCUMENT = ["D9", "D6"]
# Wu-Palmer pair values: D3-D9 17/30, D3-D6 0, D4-D9 1/3, D4-D6 2/3.


def test_set_similarity_by_hand(hand_tree: MeshTree) -> None:
    scorer = build_scorer(hand_tree, measure="wu_palmer")
    assert scorer.set_similarity(SOURCE, DOCUMENT) == approx((17 / 30 + 0 + 1 / 3 + 2 / 3) / 4)
    assert scorer.set_similarity(SOURCE, DOCUMENT, "best_match") == approx(
        ((17 / 30 + 2 / 3) / 2 + (17 / 30 + 2 / 3) / 2) / 2
    )
    # Unknown UIs are dropped before averaging; an empty side scores 0.
    assert scorer.set_similarity([*SOURCE, "D404"], DOCUMENT) == scorer.set_similarity(
        SOURCE, DOCUMENT
    )
    assert scorer.set_similarity(["D404"], DOCUMENT) == 0.0
    assert scorer.set_similarity([], DOCUMENT) == 0.0
    with pytest.raises(ConfigError, match="method"):
        scorer.set_similarity(SOURCE, DOCUMENT, "max")


def test_retrieval_score_by_hand(hand_tree: MeshTree) -> None:
    scorer = build_scorer(hand_tree, measure="wu_palmer")
    retrieved = [DOCUMENT, ["D8"], [], ["D404"]]
    # D3-D8 1/2, D4-D8 0 -> 1/4; the empty and all-unknown documents score 0 but still count.
    assert scorer.retrieval_score(SOURCE, retrieved) == approx((47 / 120 + 1 / 4) / 4)
    assert scorer.retrieval_score(SOURCE, retrieved, top_k=1) == approx(47 / 120)
    assert scorer.retrieval_score(SOURCE, retrieved, top_k=2) == approx((47 / 120 + 1 / 4) / 2)
    assert scorer.retrieval_score(SOURCE, []) == 0.0
    with pytest.raises(ConfigError, match="top_k"):
        scorer.retrieval_score(SOURCE, retrieved, top_k=0)


def test_configuration_errors(hand_tree: MeshTree) -> None:
    with pytest.raises(ConfigError, match="measure"):
        build_scorer(hand_tree, measure="cosine")
    with pytest.raises(ConfigError, match="ic_kind"):
        build_scorer(hand_tree, ic_kind="both")
    with pytest.raises(ConfigError, match="corpus annotations"):
        build_scorer(hand_tree, ic_kind="corpus")
    other = MeshTree.from_records(list(hand_tree.records())[:3])
    with pytest.raises(ConfigError, match="different MeSH tree"):
        SimilarityScorer(other, InformationContent.intrinsic(hand_tree))
    with pytest.raises(UnknownDescriptorError, match="D404"):
        build_scorer(hand_tree).pair("D1", "D404")


def test_memo_limit_keeps_scores(hand_tree: MeshTree) -> None:
    ic = InformationContent.intrinsic(hand_tree)
    small = SimilarityScorer(hand_tree, ic, "rel", memo_limit=2)
    large = SimilarityScorer(hand_tree, ic, "rel")
    for a in hand_tree.uis:
        for b in hand_tree.uis:
            assert isclose(small.pair(a, b), large.pair(a, b), abs_tol=0.0)


def test_cyclic_hierarchy_is_reported() -> None:
    from meshdistill.errors import InputError
    from meshdistill.mesh import DescriptorRecord

    tree = MeshTree.from_records(
        [DescriptorRecord("X", "X", ("A01", "A02.1")), DescriptorRecord("Y", "Y", ("A02", "A01.1"))]
    )
    assert tree.ancestors("X") == {"Y"}  # navigation copes with the loop
    with pytest.raises(InputError, match="cycle in category A"):
        InformationContent.intrinsic(tree)
