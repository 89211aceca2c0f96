"""Descriptor names as people type them: Unicode spellings, near misses, and broken hierarchies."""

from __future__ import annotations

import pytest

from meshdistill.errors import InputError, UnknownDescriptorError
from meshdistill.mesh import DescriptorRecord, MeshTree, select_descriptors
from meshdistill.workflow import check_hierarchy

TREE = MeshTree.from_records(
    [
        DescriptorRecord("D1", "Alzheimer Disease", ("F03.615",), ("Alzheimer's Disease",)),
        DescriptorRecord(
            "D2", "Graft vs Host Disease", ("C20.452",), ("Graft-Versus-Host Disease",)
        ),
        DescriptorRecord("D3", "Dementia", ("F03",)),
    ]
)


@pytest.mark.parametrize(
    "typed",
    [
        "Alzheimer\u2019s Disease",  # curly apostrophe
        "alzheimer\u00a0disease",  # no-break space, lower case
        "ＡＬＺＨＥＩＭＥＲ DISEASE",  # full-width letters (NFKC)
        "Graft\u2011Versus\u2011Host Disease",  # no-break hyphens
    ],
)
def test_names_are_normalised_before_lookup(typed: str) -> None:
    assert select_descriptors(TREE, names=[typed]) in (["D1"], ["D2"])


def test_unknown_name_shows_the_closest_known_names() -> None:
    with pytest.raises(UnknownDescriptorError) as info:
        select_descriptors(TREE, names=["Alzheimers Diseas"])
    message = str(info.value)
    assert "unknown MeSH name 'Alzheimers Diseas'" in message
    assert "(D1)" in message and "Alzheimer" in message.split("closest known:")[1]


def test_cycle_is_found_before_scoring() -> None:
    looped = MeshTree.from_records(
        [DescriptorRecord("X", "X", ("A01", "A02.1")), DescriptorRecord("Y", "Y", ("A02", "A01.1"))]
    )
    assert looped.find_cycle() is not None
    with pytest.raises(InputError, match="cycle in category A"):
        check_hierarchy(looped)
    assert TREE.find_cycle() is None


def test_hand_tree_has_no_cycle(hand_tree: MeshTree) -> None:
    assert hand_tree.find_cycle() is None
    check_hierarchy(hand_tree)
