"""Shared fixtures for the MeSH layer: a small hand-made tree and the bundled/shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshdistill.mesh import DescriptorRecord, MeshTree

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_SUBSET = REPO_ROOT / "data" / "mesh" / "desc_subset.xml"
SHARED_MESH = REPO_ROOT.parent / "shared" / "data" / "mesh2017"

# The hand tree (values in the tests are worked out from this picture):
#
#   A01 D1 ─┬─ A01.1 D2 ─┬─ A01.1.1 D3            B01 D7 ─┬─ B01.1 D3 ── B01.1.1 D9
#           │            └─ A01.1.2 D4                    └─ B01.2 D8
#           └─ A01.2 D5 ──── A01.2.1 D9
#   A02 D6 ──── A02.1 D4
#
# D3, D9 sit in categories A and B; D4 has two parents in A (D2 and D6).
HAND_RECORDS = (
    DescriptorRecord("D1", "Alpha Root", ("A01",)),
    DescriptorRecord("D2", "Alpha Branch", ("A01.1",)),
    DescriptorRecord("D3", "Shared Leaf", ("A01.1.1", "B01.1"), ("Synonym Three",)),
    DescriptorRecord("D4", "Twin Parent Leaf", ("A01.1.2", "A02.1")),
    DescriptorRecord("D5", "Alpha Second", ("A01.2",)),
    DescriptorRecord("D6", "Alpha Other Root", ("A02",)),
    DescriptorRecord("D7", "Beta Root", ("B01",)),
    DescriptorRecord("D8", "Beta Leaf", ("B01.2",)),
    DescriptorRecord("D9", "Deep Both", ("A01.2.1", "B01.1.1")),
)


@pytest.fixture(scope="session")
def hand_tree() -> MeshTree:
    return MeshTree.from_records(HAND_RECORDS)


@pytest.fixture(scope="session")
def bundled_tree() -> MeshTree:
    if not BUNDLED_SUBSET.is_file():
        pytest.skip(f"bundled MeSH subset {BUNDLED_SUBSET} is absent")
    return MeshTree.from_descriptor_xml(BUNDLED_SUBSET)


@pytest.fixture(scope="session")
def shared_mesh_dir() -> Path:
    if not (SHARED_MESH / "MeshTreeHierarchy2017.tsv").is_file():
        pytest.skip(f"shared MeSH 2017 data not found at {SHARED_MESH}")
    return SHARED_MESH
