from __future__ import annotations

import pytest

from meshdistill.dedup import NearDuplicateFilter, normalise_question, word_shingles


def test_normalise_question() -> None:
    assert normalise_question("  What's the   ROLE of TNF-α?\n") == "what s the role of tnf α"
    assert normalise_question("Ｆｕｌｌｗｉｄｔｈ？") == "fullwidth"  # NFKC folds width
    assert normalise_question("?!") == ""


def test_word_shingles() -> None:
    assert word_shingles("a b c d", 3) == {"a b c", "b c d"}
    assert word_shingles("a b", 3) == {"a b"}
    assert word_shingles("", 3) == set()


def test_drops_near_duplicate_keeps_distant_paraphrase() -> None:
    dedup = NearDuplicateFilter(threshold=0.7)
    first = (
        "What is the effect of metformin on hepatic glucose production in adults "
        "with newly diagnosed type 2 diabetes mellitus?"
    )
    near = (
        "What is the effect of metformin on hepatic glucose production in adults "
        "with newly diagnosed type 2 diabetes?"
    )
    paraphrase = (
        "How does metformin change the liver's glucose output in recently "
        "diagnosed adult type 2 diabetics?"
    )
    assert dedup.is_duplicate("a", first) is None
    assert dedup.is_duplicate("b", near) == "a"
    assert dedup.is_duplicate("c", paraphrase) is None
    assert dedup.is_duplicate("d", first.upper()) == "a"  # exact after normalising
    assert len(dedup) == 2  # duplicates are not remembered


def test_reports_the_earliest_match_and_rejects_reused_keys() -> None:
    dedup = NearDuplicateFilter(threshold=0.5)
    base = "Which inflammatory cytokines are raised in the synovial fluid of rheumatoid arthritis?"
    dedup.add("first", base)
    dedup.add("second", base.replace("raised", "elevated"))
    assert dedup.find_duplicate(base.replace("raised", "increased")) == "first"
    with pytest.raises(ValueError, match="first"):
        dedup.add("first", "anything at all here?")


def test_short_and_empty_texts() -> None:
    dedup = NearDuplicateFilter()
    assert dedup.is_duplicate("a", "Why?") is None
    assert dedup.is_duplicate("b", "why") == "a"
    assert dedup.is_duplicate("c", "??") is None
    assert dedup.is_duplicate("d", "!!") == "c"  # both normalise to the empty text


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        NearDuplicateFilter(threshold=0)
    with pytest.raises(ValueError):
        NearDuplicateFilter(shingle_size=0)
