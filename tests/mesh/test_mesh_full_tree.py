"""Checks on the full 2017 MeSH tree in ../shared/data/mesh2017 (skipped when it is absent)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from meshdistill.mesh import (
    MEASURES,
    InformationContent,
    MeshTree,
    SimilarityScorer,
    select_descriptors,
)

DESCRIPTORS_2017 = 28_470
TREE_NUMBERS_2017 = 57_840
MAX_DEPTH_2017 = 12
SAMPLED_PAIRS = 300


@pytest.fixture(scope="module")
def full_tree(shared_mesh_dir: Path) -> MeshTree:
    return MeshTree.load(shared_mesh_dir / "MeshTreeHierarchy2017.tsv")


def test_counts_and_known_descriptors(full_tree: MeshTree) -> None:
    assert len(full_tree) == DESCRIPTORS_2017
    assert sum(len(r.tree_numbers) for r in full_tree.records()) == TREE_NUMBERS_2017
    depths = [len(tn.split(".")) for r in full_tree.records() for tn in r.tree_numbers]
    assert max(depths) == MAX_DEPTH_2017
    neoplasms = full_tree.ui_for_heading("Neoplasms/drug therapy")
    assert neoplasms == "D009369" and full_tree.tree_numbers(neoplasms) == ("C04",)
    lung = full_tree.ui_for_name("lung neoplasms")
    assert neoplasms in full_tree.ancestors(lung)
    assert lung in full_tree.descendants(neoplasms)
    assert full_tree.categories(lung) == {"C"}
    assert full_tree.subtree("C04", max_depth=0) == ["D009369"]


def test_the_sixteen_categories_select_all_of_mesh(full_tree: MeshTree) -> None:
    categories = sorted({tn[0] for r in full_tree.records() for tn in r.tree_numbers})
    assert "".join(categories) == "ABCDEFGHIJKLMNVZ"
    selected = select_descriptors(full_tree, subtrees=[{"tree_number": c} for c in categories])
    assert len(selected) == DESCRIPTORS_2017


def test_xml_and_tsv_agree(full_tree: MeshTree, shared_mesh_dir: Path) -> None:
    from_xml = MeshTree.load(shared_mesh_dir / "desc2017-trees.xml")
    assert from_xml.uis == full_tree.uis
    for ui in full_tree.uis:
        assert from_xml.name(ui) == full_tree.name(ui)
        assert sorted(from_xml.tree_numbers(ui)) == sorted(full_tree.tree_numbers(ui))


def test_every_parent_tree_number_exists(full_tree: MeshTree) -> None:
    for record in full_tree.records():
        for tree_number in record.tree_numbers:
            if "." in tree_number:
                full_tree.ui_for_tree_number(tree_number.rsplit(".", 1)[0])


def test_scores_in_range_and_symmetric(full_tree: MeshTree) -> None:
    ic = InformationContent.intrinsic(full_tree)
    rng = random.Random(2017)
    pairs = [tuple(rng.sample(full_tree.uis, 2)) for _ in range(SAMPLED_PAIRS)]
    for measure in MEASURES:
        scorer = SimilarityScorer(full_tree, ic, measure)
        for a, b in pairs:
            score = scorer.pair(a, b)
            assert 0.0 <= score <= 1.0
            assert score == scorer.pair(b, a)
        # Siblings under Neoplasms by Site score above unrelated descriptors.
        lung, breast = (
            full_tree.ui_for_name("Lung Neoplasms"),
            full_tree.ui_for_name("Breast Neoplasms"),
        )
        aspirin = full_tree.ui_for_name("Aspirin")
        assert scorer.pair(lung, breast) > scorer.pair(lung, aspirin) == 0.0
