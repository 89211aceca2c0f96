from __future__ import annotations

import pytest
from dataset_factories import GOOD, POOR, scored

from meshdistill.dedup import NearDuplicateFilter
from meshdistill.errors import ConfigError
from meshdistill.schemas import validate
from meshdistill.selection import (
    SelectionSettings,
    combined_score,
    select_pairs,
    self_eval_score,
)

Q1 = "How does insulin resistance progress in adults with type 2 diabetes?"
Q2 = "Diabetes?"
Q3 = "Which genetic variants predict metformin response in obese adolescents?"


def test_factory_records_are_valid_scored_records() -> None:
    failed = scored("1", "gen_b", None, status="failed")
    for record in [scored("1", "gen_a", Q1, 0.4, GOOD), failed]:
        validate(record, "scored_record.schema.json", "factory")


def test_self_eval_score_maps_ratings_to_unit_interval() -> None:
    assert self_eval_score(None) is None
    assert self_eval_score({"relevance": 1, "answerability": 1, "specificity": 1}) == 0.0
    assert self_eval_score({"relevance": 5, "answerability": 5, "specificity": 5}) == 1.0
    assert self_eval_score({"relevance": 3, "answerability": 3, "specificity": 3}) == 0.5


def test_combined_score_renormalises_without_self_eval() -> None:
    settings = SelectionSettings(hierarchy_weight=0.7, self_eval_weight=0.3)
    assert combined_score(0.6, None, settings) == 0.6
    assert combined_score(0.6, 1.0, settings) == pytest.approx(0.72)
    with pytest.raises(ConfigError, match="hierarchy_weight"):
        combined_score(0.6, None, SelectionSettings(hierarchy_weight=0.0, self_eval_weight=1.0))


def test_settings_reject_bad_values_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="selection.min_margin"):
        SelectionSettings(min_margin=-1)
    with pytest.raises(ConfigError, match="selection.score_ceiling"):
        SelectionSettings(score_ceiling=1.5)
    with pytest.raises(ConfigError, match="selection.bogus"):
        SelectionSettings.from_mapping({"bogus": 1})


def test_picks_highest_as_chosen_and_lowest_as_rejected() -> None:
    records = [
        scored("1", "gen_a", Q1.removesuffix("?") + " (a)?", 0.3, POOR),
        scored("1", "gen_b", Q3, 0.9, GOOD),
        scored("1", "gen_c", "Is insulin resistance reversible by exercise in adults?", 0.5, GOOD),
    ]
    pairs, dropped = select_pairs(records, SelectionSettings(), None)
    assert dropped == []
    [pair] = pairs
    assert pair.chosen["generator"] == "gen_b"
    assert pair.rejected["generator"] == "gen_a"
    expected_best = 0.7 * 0.9 + 0.3 * (14 / 3 - 1) / 4  # GOOD rates 5, 4, 5
    assert pair.chosen["scores"]["combined"] == pytest.approx(expected_best)
    assert pair.margin == pytest.approx(
        pair.chosen["scores"]["combined"] - pair.rejected["scores"]["combined"]
    )
    # the input records are not modified
    assert records[1]["scores"]["combined"] is None


def test_ties_are_broken_by_generator_id() -> None:
    records = [scored("1", "gen_b", Q1, 0.5, GOOD), scored("1", "gen_a", Q3, 0.5, GOOD)]
    pairs, dropped = select_pairs(records, SelectionSettings(min_margin=0.0), None)
    assert [(p.chosen["generator"], p.rejected["generator"]) for p in pairs] == [("gen_a", "gen_b")]


def _reasons(dropped: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(d["pmid"], d["reason"]) for d in dropped]


def test_each_rule_drops_exactly_its_case() -> None:
    settings = SelectionSettings(min_margin=0.05, min_chosen_score=0.3, score_ceiling=0.9)
    keep = [scored("ok", "gen_a", Q1, 0.8, GOOD), scored("ok", "gen_b", Q3, 0.2, POOR)]
    small_margin = [scored("m", "gen_a", Q1, 0.50, None), scored("m", "gen_b", Q3, 0.48, None)]
    low = [scored("low", "gen_a", Q1, 0.2, None), scored("low", "gen_b", Q3, 0.1, None)]
    high = [scored("high", "gen_a", Q1, 0.99, None), scored("high", "gen_b", Q3, 0.92, None)]
    failed = [
        scored("f", "gen_a", Q1, 0.8, GOOD),
        scored("f", "gen_b", None, status="failed"),
    ]
    malformed = [
        scored("bad", "gen_a", Q1, 0.8, GOOD),
        scored("bad", "gen_b", Q2, 0.1, GOOD),
        scored("bad", "gen_c", "Insulin resistance in adults with type 2 diabetes.", 0.2, GOOD),
    ]
    records = keep + small_margin + low + high + failed + malformed
    pairs, dropped = select_pairs(records, settings, None)
    assert [p.pmid for p in pairs] == ["ok"]
    assert _reasons(dropped) == [
        ("m", "margin_too_small"),
        ("low", "below_min_score"),
        ("high", "above_score_ceiling"),
        ("f", "question_failed"),
        ("f", "too_few_questions"),
        ("bad", "question_not_single"),
        ("bad", "question_not_single"),
        ("bad", "too_few_questions"),
    ]
    assert "gen_b" in dropped[3]["detail"]
    for record in dropped:
        validate(record, "dropped_record.schema.json", "drop")


def test_mixed_self_eval_compares_on_hierarchy_alone() -> None:
    # gen_a: strong judge rating but lower hierarchy; gen_b's judge failed.
    records = [scored("1", "gen_a", Q1, 0.40, GOOD), scored("1", "gen_b", Q3, 0.50, None)]
    [pair], _ = select_pairs(records, SelectionSettings(), None)
    assert pair.chosen["generator"] == "gen_b"
    assert pair.margin == pytest.approx(0.10)
    [pair], _ = select_pairs(records, SelectionSettings(compare_on_common_components=False), None)
    assert pair.chosen["generator"] == "gen_a"


def test_judge_failure_drops_when_hierarchy_has_no_weight() -> None:
    settings = SelectionSettings(hierarchy_weight=0.0, self_eval_weight=1.0)
    records = [scored("1", "gen_a", Q1, 0.4, GOOD), scored("1", "gen_b", Q3, 0.5, None)]
    pairs, dropped = select_pairs(records, settings, None)
    assert pairs == []
    assert _reasons(dropped) == [("1", "judge_failed"), ("1", "too_few_questions")]


def test_margin_exactly_at_minimum_is_kept() -> None:
    records = [scored("1", "gen_a", Q1, 0.72, None), scored("1", "gen_b", Q3, 0.70, None)]
    pairs, dropped = select_pairs(records, SelectionSettings(min_margin=0.02), None)
    assert len(pairs) == 1 and dropped == []


def test_near_duplicate_chosen_questions_are_dropped_across_abstracts() -> None:
    dedup = NearDuplicateFilter(threshold=0.8)
    distant = "Which genetic variants predict metformin response in lean adults with prediabetes?"
    records = [
        scored("1", "gen_a", Q1, 0.9, None),
        scored("1", "gen_b", Q3, 0.1, None),
        # same question as pmid 1's chosen, differing only in case and punctuation
        scored("2", "gen_a", Q1.upper().replace("?", " ?"), 0.9, None),
        scored("2", "gen_b", Q3, 0.1, None),
        scored("3", "gen_a", distant, 0.9, None),
        scored("3", "gen_b", Q1, 0.1, None),
    ]
    pairs, dropped = select_pairs(records, SelectionSettings(), dedup)
    assert [p.pmid for p in pairs] == ["1", "3"]
    assert _reasons(dropped) == [("2", "near_duplicate")]
    assert "D003920:1" in dropped[0]["detail"]


def test_identical_chosen_and_rejected_is_dropped() -> None:
    records = [scored("1", "gen_a", Q1, 0.9, None), scored("1", "gen_b", Q1 + " ", 0.1, None)]
    pairs, dropped = select_pairs(records, SelectionSettings(), None)
    assert pairs == [] and _reasons(dropped) == [("1", "near_duplicate")]


def test_kailin_filter_keeps_a_source_only_when_every_generator_is_at_or_below() -> None:
    # KAILIN's filter (DPO/filtering/filter.py): every generator's score <= threshold.
    settings = SelectionSettings.from_mapping(
        {"min_margin": 0.0, "kailin_filter": {"score_threshold": 0.5}}
    )
    at_threshold = [scored("at", "gen_a", Q1, 0.5, GOOD), scored("at", "gen_b", Q3, 0.1, POOR)]
    one_above = [scored("up", "gen_a", Q1, 0.51, GOOD), scored("up", "gen_b", Q3, 0.1, POOR)]
    failed_other = [
        scored("f", "gen_a", Q1, 0.2, GOOD),
        scored("f", "gen_b", None, status="failed"),
    ]
    pairs, dropped = select_pairs(at_threshold + one_above + failed_other, settings, None)
    assert [p.pmid for p in pairs] == ["at"]
    assert _reasons(dropped) == [
        ("up", "above_kailin_threshold"),
        ("f", "question_failed"),
        ("f", "too_few_questions"),
    ]
    assert "gen_a" in dropped[0]["detail"] and "0.5100" in dropped[0]["detail"]
    for record in dropped:
        validate(record, "dropped_record.schema.json", "drop")
    # Off (the default): the same records make two pairs.
    pairs, _ = select_pairs(at_threshold + one_above, SelectionSettings(min_margin=0.0), None)
    assert [p.pmid for p in pairs] == ["at", "up"]


def test_kailin_filter_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="kailin_filter"):
        SelectionSettings.from_mapping({"kailin_filter": {"threshold": 0.5}})
    with pytest.raises(ConfigError, match="score_threshold"):
        SelectionSettings.from_mapping({"kailin_filter": {"score_threshold": 1.5}})
    assert SelectionSettings.from_mapping({"kailin_filter": None}).kailin_filter is None
