"""MeshTree navigation and look-ups on the hand tree."""

from __future__ import annotations

import pytest

from meshdistill.errors import ConfigError, InputError, UnknownDescriptorError
from meshdistill.mesh import DescriptorRecord, MeshTree, select_descriptors


def test_table_access(hand_tree: MeshTree) -> None:
    assert len(hand_tree) == 9
    assert hand_tree.uis == tuple(f"D{i}" for i in range(1, 10))
    assert "D3" in hand_tree and "D10" not in hand_tree
    assert hand_tree.name("D3") == "Shared Leaf"
    assert hand_tree.tree_numbers("D4") == ("A01.1.2", "A02.1")
    assert hand_tree.categories("D9") == frozenset({"A", "B"})
    assert hand_tree.depth("D1") == 1
    assert hand_tree.depth("D3") == 2  # min over A01.1.1 (3) and B01.1 (2)
    assert hand_tree.all_categories == ("A", "B")


def test_ancestors_and_descendants(hand_tree: MeshTree) -> None:
    # D9's parent D3 (via B01.1) also sits at A01.1.1, so the closure reaches D2.
    assert hand_tree.ancestors("D9") == {"D5", "D1", "D3", "D7", "D2"}
    assert hand_tree.ancestors("D9", category="A") == {"D5", "D1"}
    assert hand_tree.ancestors("D9", category="B") == {"D3", "D7"}
    assert hand_tree.descendants("D2") == {"D3", "D4", "D9"}
    assert hand_tree.descendants("D2", category="A") == {"D3", "D4"}
    assert hand_tree.ancestors("D4") == {"D2", "D1", "D6"}
    assert hand_tree.ancestors("D4", include_self=True) == {"D4", "D2", "D1", "D6"}
    assert hand_tree.ancestors("D1") == frozenset()
    assert hand_tree.descendants("D1") == {"D2", "D3", "D4", "D5", "D9"}
    assert hand_tree.descendants("D7") == {"D3", "D8", "D9"}
    assert hand_tree.descendants("D6", include_self=True) == {"D6", "D4"}
    assert hand_tree.descendants("D8") == frozenset()


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("D3", "D4", {"D2"}),
        ("D4", "D6", {"D6"}),  # A02.1 under A02; A01.1.2 shares nothing with A02
        ("D3", "D9", {"D3"}),  # B01.1 vs B01.1.1 (depth 2) beats A01 (depth 1)
        ("D4", "D9", {"D1"}),
        ("D5", "D6", set()),
        ("D3", "D3", {"D3"}),
        ("D8", "D9", {"D7"}),
    ],
)
def test_lowest_common_ancestors(hand_tree: MeshTree, a: str, b: str, expected: set[str]) -> None:
    assert hand_tree.lowest_common_ancestors(a, b) == expected
    assert hand_tree.lowest_common_ancestors(b, a) == expected


def test_lowest_common_ancestors_keeps_ties() -> None:
    tree = MeshTree.from_records(
        [
            DescriptorRecord("P", "P", ("A01",)),
            DescriptorRecord("Q", "Q", ("B01",)),
            DescriptorRecord("X", "X", ("A01.1", "B01.1")),
            DescriptorRecord("Y", "Y", ("A01.2", "B01.2")),
        ]
    )
    assert tree.lowest_common_ancestors("X", "Y") == {"P", "Q"}


def test_subtree_with_depth_limit(hand_tree: MeshTree) -> None:
    assert hand_tree.subtree("A01") == ["D1", "D2", "D3", "D4", "D5", "D9"]
    assert hand_tree.subtree("A01", max_depth=0) == ["D1"]
    assert hand_tree.subtree("A01", max_depth=1) == ["D1", "D2", "D5"]
    assert hand_tree.subtree("B01.1") == ["D3", "D9"]
    with pytest.raises(UnknownDescriptorError, match="tree number 'A09'"):
        hand_tree.subtree("A09")
    with pytest.raises(ConfigError, match="max_depth"):
        hand_tree.subtree("A01", max_depth=-1)


def test_a_category_letter_selects_the_whole_category(hand_tree: MeshTree) -> None:
    assert hand_tree.subtree("A") == ["D1", "D2", "D3", "D4", "D5", "D9", "D6"]
    assert hand_tree.subtree("A", max_depth=0) == ["D1", "D6"]
    assert hand_tree.subtree("A", max_depth=1) == ["D1", "D2", "D5", "D6", "D4"]
    assert set(hand_tree.subtree("A")) | set(hand_tree.subtree("B")) == set(hand_tree.uis)
    with pytest.raises(UnknownDescriptorError, match="tree number 'C'"):
        hand_tree.subtree("C")


def test_name_lookups(hand_tree: MeshTree) -> None:
    assert hand_tree.ui_for_name("shared leaf") == "D3"
    assert hand_tree.ui_for_name("  SHARED   Leaf ") == "D3"
    assert hand_tree.ui_for_name("synonym three") == "D3"
    with pytest.raises(UnknownDescriptorError, match="name 'Nothing'") as caught:
        hand_tree.ui_for_name("Nothing")
    assert caught.value.kind == "name" and caught.value.value == "Nothing"


def test_heading_lookups(hand_tree: MeshTree) -> None:
    assert hand_tree.ui_for_heading("Shared Leaf/drug therapy") == "D3"
    assert hand_tree.ui_for_heading("*Shared Leaf/drug therapy/pathology") == "D3"
    assert hand_tree.ui_for_heading("D4") == "D4"
    assert hand_tree.ui_for_heading("Synonym Three") == "D3"
    with pytest.raises(UnknownDescriptorError, match="heading"):
        hand_tree.ui_for_heading("Nothing/drug therapy")


def test_heading_with_slash_in_name() -> None:
    tree = MeshTree.from_records(
        [
            DescriptorRecord("S1", "Slash", ("A01",)),
            DescriptorRecord("S2", "Slash/Name", ("A02",)),
        ]
    )
    assert tree.ui_for_heading("Slash/Name") == "S2"
    assert tree.ui_for_heading("Slash/Name/metabolism") == "S2"
    assert tree.ui_for_heading("Slash/metabolism") == "S1"


def test_ui_and_tree_number_lookups(hand_tree: MeshTree) -> None:
    assert hand_tree.resolve_ui("D5") == "D5"
    assert hand_tree.ui_for_tree_number("A02.1") == "D4"
    with pytest.raises(UnknownDescriptorError, match="UI 'D77'"):
        hand_tree.resolve_ui("D77")
    with pytest.raises(UnknownDescriptorError, match="tree number"):
        hand_tree.ui_for_tree_number("A03")


def test_preferred_names_win_over_entry_terms() -> None:
    tree = MeshTree.from_records(
        [
            DescriptorRecord("E2", "Cancer", ("A01",)),
            DescriptorRecord("E1", "Neoplasms", ("A02",), ("Cancer", "Tumor")),
            DescriptorRecord("E0", "Growths", ("A03",), ("Tumor",)),
        ]
    )
    assert tree.ui_for_name("cancer") == "E2"
    assert tree.ui_for_name("tumor") == "E0"  # shared entry term: smallest UI wins


def test_inconsistent_records_are_refused() -> None:
    with pytest.raises(InputError, match="UI listed twice"):
        MeshTree.from_records(
            [DescriptorRecord("X", "X", ("A01",)), DescriptorRecord("X", "Y", ("A02",))]
        )
    with pytest.raises(InputError, match="tree number A01 also belongs to X"):
        MeshTree.from_records(
            [DescriptorRecord("X", "X", ("A01",)), DescriptorRecord("Y", "Y", ("A01",))]
        )


def test_descriptor_without_tree_numbers(hand_tree: MeshTree) -> None:
    tree = MeshTree.from_records([*hand_tree.records(), DescriptorRecord("F", "Female", ())])
    assert tree.depth("F") == 0
    assert tree.categories("F") == frozenset()
    assert tree.ancestors("F") == frozenset() and tree.descendants("F") == frozenset()


def test_select_descriptors(hand_tree: MeshTree) -> None:
    selected = select_descriptors(
        hand_tree,
        uis=["D8", "D3"],
        names=["beta root", "Shared Leaf/genetics"],
        subtrees=[{"tree_number": "A01", "max_depth": 1}, {"tree_number": "B01.1"}],
    )
    assert selected == ["D8", "D3", "D7", "D1", "D2", "D5", "D9"]
    assert select_descriptors(hand_tree) == []


def test_select_descriptors_names_what_is_wrong(hand_tree: MeshTree) -> None:
    with pytest.raises(UnknownDescriptorError, match="D99"):
        select_descriptors(hand_tree, uis=["D99"])
    with pytest.raises(UnknownDescriptorError, match="No Such"):
        select_descriptors(hand_tree, names=["No Such"])
    with pytest.raises(UnknownDescriptorError, match="Z01"):
        select_descriptors(hand_tree, subtrees=[{"tree_number": "Z01", "max_depth": None}])
    with pytest.raises(ConfigError, match=r"subtrees\[0\].max_depth"):
        select_descriptors(hand_tree, subtrees=[{"tree_number": "A01", "max_depth": "2"}])
    with pytest.raises(ConfigError, match="unexpected keys"):
        select_descriptors(hand_tree, subtrees=[{"tree_number": "A01", "depth": 2}])


def test_closure_follows_every_place_of_a_descriptor() -> None:
    # Y sits under X (A01.1) and heads A02; Z is listed only under A02.1, yet descends from X.
    tree = MeshTree.from_records(
        [
            DescriptorRecord("X", "X", ("A01",)),
            DescriptorRecord("Y", "Y", ("A01.1", "A02")),
            DescriptorRecord("Z", "Z", ("A02.1",)),
            DescriptorRecord("W", "W", ("B01", "A01.2")),
        ]
    )
    assert tree.parents("Z") == {"Y"}
    assert tree.children("Y") == {"Z"}
    assert tree.ancestors("Z") == {"X", "Y"}
    assert tree.descendants("X") == {"Y", "Z", "W"}
    assert tree.descendants("X", category="B") == frozenset()
    assert tree.parents("W", category="B") == frozenset()
    assert tree.lowest_common_ancestors("Z", "W") == frozenset()  # tree-number pairs only
    assert tree.subtree("A01") == ["X", "Y", "W"]


def test_partial_tree_skips_missing_prefixes() -> None:
    tree = MeshTree.from_records(
        [DescriptorRecord("R", "R", ("A01",)), DescriptorRecord("L", "L", ("A01.1.1",))]
    )
    assert tree.parents("L") == {"R"}
    assert tree.lowest_common_ancestors("L", "R") == {"R"}
