"""Intrinsic information content read back from its cache file, and closures built on demand:
the scores a job gets are the ones it would have computed, bit for bit."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from meshdistill.mesh import (
    MEASURES,
    DescriptorRecord,
    InformationContent,
    MeshTree,
    SimilarityScorer,
    ic_cache,
)


def same_ic(left: InformationContent, right: InformationContent) -> None:
    assert left.hierarchy.categories == right.hierarchy.categories
    for category in left.hierarchy.categories:
        # NaN outside the category in both, every value identical to the bit elsewhere.
        assert np.array_equal(left.ic_array(category), right.ic_array(category), equal_nan=True)
        assert np.array_equal(
            left.probability_array(category), right.probability_array(category), equal_nan=True
        )
        assert left.max_ic(category) == right.max_ic(category)


@pytest.mark.parametrize("convention", ["letter", "segment"])
def test_cached_ic_is_the_computed_ic(
    bundled_tree: MeshTree, tmp_path: Path, convention: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = InformationContent.intrinsic(bundled_tree, category=convention)
    first = InformationContent.intrinsic(bundled_tree, category=convention, cache_dir=tmp_path)
    (written,) = tmp_path.glob(f"information-content.intrinsic.{convention}.*.npz")
    same_ic(computed, first)

    # The next job reads the file and computes nothing.
    def no_computing(*args: object) -> None:
        raise AssertionError("computed again instead of read")

    monkeypatch.setattr(InformationContent, "_intrinsic", classmethod(no_computing))
    again = InformationContent.intrinsic(bundled_tree, category=convention, cache_dir=tmp_path)
    same_ic(computed, again)
    uis = bundled_tree.uis[:40]
    for measure in MEASURES:
        fresh = SimilarityScorer(bundled_tree, computed, measure)
        cached = SimilarityScorer(bundled_tree, again, measure)
        for a, b in itertools.combinations(uis, 2):
            assert fresh.pair(a, b) == cached.pair(a, b), (measure, a, b)
    assert written.stat().st_size > 0


def test_a_damaged_cache_file_is_computed_again(bundled_tree: MeshTree, tmp_path: Path) -> None:
    InformationContent.intrinsic(bundled_tree, cache_dir=tmp_path)
    (written,) = tmp_path.glob("*.npz")
    written.write_bytes(written.read_bytes()[:100])
    recomputed = InformationContent.intrinsic(bundled_tree, cache_dir=tmp_path)
    same_ic(InformationContent.intrinsic(bundled_tree), recomputed)
    assert ic_cache.read(written, len(bundled_tree.uis)) is not None  # rewritten whole


def test_another_tree_gets_its_own_file(hand_tree: MeshTree, tmp_path: Path) -> None:
    InformationContent.intrinsic(hand_tree, cache_dir=tmp_path)
    records = [hand_tree.record(ui) for ui in hand_tree.uis]
    moved = [
        DescriptorRecord(r.ui, r.name, ("A01.1.3",) if r.ui == "D8" else r.tree_numbers)
        for r in records
    ]
    other = MeshTree.from_records(moved)
    ic = InformationContent.intrinsic(other, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    same_ic(InformationContent.intrinsic(other), ic)
    assert ic.ic("D2", "A") != InformationContent.intrinsic(hand_tree).ic("D2", "A")


def test_a_scorer_closes_only_what_it_scores(bundled_tree: MeshTree, tmp_path: Path) -> None:
    InformationContent.intrinsic(bundled_tree, cache_dir=tmp_path)
    ic = InformationContent.intrinsic(bundled_tree, cache_dir=tmp_path)
    scorer = SimilarityScorer(bundled_tree, ic, "lin")
    a, b = bundled_tree.uis[:2]
    scorer.pair(a, b)
    closed = sum(len(done) for done in ic.hierarchy._closed.values())
    # the two descriptors and their ancestors, not the whole tree
    assert 0 < closed < len(bundled_tree.uis) // 2
