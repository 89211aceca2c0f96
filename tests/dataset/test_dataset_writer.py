from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dataset_factories import GOOD, POOR, pair_from_choice, scored

from meshdistill.dataset import (
    build_provenance,
    subtree_of,
    to_preference_record,
    to_sft_record,
    write_dataset,
)
from meshdistill.dedup import NearDuplicateFilter
from meshdistill.errors import ConfigError, SchemaValidationError
from meshdistill.schemas import validate
from meshdistill.selection import SelectionSettings, select_pairs

DESCRIPTORS = {
    "D003920": {"name": "Diabetes Mellitus", "tree_numbers": ["C18.452.394.750", "C19.246"]},
    "D006973": {"name": "Hypertension", "tree_numbers": ["C14.907.489"]},
    "D001249": {"name": "Asthma", "tree_numbers": ["C08.127.108", "C08.381.495.108"]},
}
SHARED = "Does intensive glucose lowering reduce cardiovascular events in hypertensive adults?"
QUESTIONS = {
    ("D003920", "101"): (
        "How does metformin alter hepatic glucose output in adults?",
        "What is metformin used for in medicine today?",
    ),
    ("D003920", "102"): (SHARED, "Is blood pressure related to diabetes in any way at all?"),
    ("D006973", "201"): (
        "Which antihypertensive class best protects kidney function?",
        "Are there drugs for high blood pressure available now?",
    ),
    # same chosen question as D003920:102: a cross-descriptor near-duplicate
    ("D006973", "102"): (SHARED, "Do hypertensive people have more heart attacks than others?"),
}
SETTINGS_SUMMARY = {
    "config_hash": "0" * 64,
    "corpus": {"kind": "sample", "articles": 40},
    "retrieval": {"method": "bm25", "k": 4},
    "scoring": {"measure": "lin", "ic_kind": "intrinsic_seco"},
    "selection": {"min_margin": 0.02, "score_ceiling": None},
    "models": {"model-a": {"backend": "openai"}, "model-b": {"backend": "llama_cpp"}},
    "generators": {
        "gen_a": {"model": "model-a", "prompt": "question_general"},
        "gen_b": {"model": "model-b", "prompt": "question_biomedical"},
    },
    "prompts": {"question_general": {"version": 1, "sha256": "a" * 64}},
    "seed": 7,
}
PRICES = {"model-a": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}
JUDGE_SCORES = [0.75, 0.25, None, 0.5, 0.5]
MIN_JUDGE_STDEV = 0.05


def build_pairs() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    records = []
    for (ui, pmid), (good, poor) in QUESTIONS.items():
        records.append(scored(pmid, "gen_a", good, 0.8, GOOD, descriptor_ui=ui))
        records.append(scored(pmid, "gen_b", poor, 0.3, POOR, descriptor_ui=ui))
    records.append(scored("103", "gen_a", "Too short?", 0.9, GOOD))
    records.append(scored("103", "gen_b", SHARED, 0.1, POOR))
    # one selection (and one within-descriptor filter) per descriptor, as the workflow does
    choices, dropped = [], []
    for ui in sorted({r["descriptor_ui"] for r in records}):
        mine = [r for r in records if r["descriptor_ui"] == ui]
        kept, lost = select_pairs(mine, SelectionSettings(), NearDuplicateFilter())
        choices += kept
        dropped += lost
    pairs = []
    for choice in choices:
        ui = choice.descriptor_ui
        descriptor = {"ui": ui, **DESCRIPTORS[ui]}
        pairs.append(pair_from_choice(choice, descriptor, f"Answer for {choice.pair_id}."))
    return pairs, dropped


USAGE = [
    {
        "stage": "questions",
        "descriptor_ui": "D003920",
        "model": "model-a",
        "prompt_tokens": 1000,
        "completion_tokens": 100,
    },
    {
        "stage": "questions",
        "descriptor_ui": "D006973",
        "model": "model-a",
        "prompt_tokens": 3000,
        "completion_tokens": 300,
    },
    {
        "stage": "questions",
        "descriptor_ui": "D003920",
        "model": "model-b",
        "prompt_tokens": 500,
        "completion_tokens": 50,
    },
]


# Failed tries per gate, as merged counts them from the question records and answer tries.
TURNED_AWAY = {"question_off_topic": 5, "question_not_single": 2, "answer_unsupported": 1}


def write(out_dir: Path, plots: bool = True) -> dict[str, Any]:
    pairs, dropped = build_pairs()
    return write_dataset(
        pairs[::-1],
        dropped,
        USAGE,
        out_dir,
        descriptors=DESCRIPTORS,
        settings_summary=SETTINGS_SUMMARY,
        prices=PRICES,
        cross_descriptor_dedup=NearDuplicateFilter(),
        plots_dir=out_dir / "plots" if plots else None,
        judge_scores=JUDGE_SCORES,
        min_judge_stdev=MIN_JUDGE_STDEV,
        system_prompt="You are a biomedical expert.",
        turned_away=TURNED_AWAY,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("dataset")
    return out_dir, write(out_dir)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_pairs_from_the_factory_are_valid() -> None:
    pairs, _ = build_pairs()
    assert len(pairs) == 4
    for pair in pairs:
        validate(pair, "pair_record.schema.json", pair["id"])
        validate(build_provenance(pair), "provenance.schema.json", pair["id"])


def test_records_layout() -> None:
    pair = build_pairs()[0][0]
    sft = to_sft_record(pair, None, include_context=True)
    assert [m["role"] for m in sft["messages"]] == ["user", "assistant"]
    assert sft["messages"][0]["content"].startswith("Context:\n[1] PMID 900: Context title")
    assert sft["messages"][0]["content"].endswith("Question: " + pair["chosen"]["question"])
    plain = to_sft_record(pair, "System.")
    assert [m["content"] for m in plain["messages"]] == [
        "System.",
        pair["chosen"]["question"],
        pair["answer"]["text"],
    ]
    preference = to_preference_record(pair, "Q about {title}: {abstract} {unknown}")
    assert preference["prompt"] == (
        f"Q about {pair['source']['title']}: {pair['source']['abstract']} {{unknown}}"
    )
    assert preference["chosen"] == pair["chosen"]["question"]
    assert preference["rejected"] == pair["rejected"]["question"]
    with pytest.raises(ConfigError, match="preference_instruction"):
        to_preference_record(pair, "no abstract here")


def test_outputs_validate_and_cross_descriptor_duplicate_is_dropped(
    built: tuple[Path, dict[str, Any]],
) -> None:
    out_dir, stats = built
    sft = read_jsonl(out_dir / "sft.jsonl")
    preference = read_jsonl(out_dir / "preference.jsonl")
    dropped = read_jsonl(out_dir / "dropped.jsonl")
    expected_ids = ["D003920:101", "D003920:102", "D006973:201"]
    assert [r["id"] for r in sft] == expected_ids
    assert [r["id"] for r in preference] == expected_ids
    for record in sft:
        validate(record, "sft_record.schema.json", record["id"])
    for record in preference:
        validate(record, "preference_record.schema.json", record["id"])
    for record in dropped:
        validate(record, "dropped_record.schema.json", "dropped.jsonl")
    assert [(d["descriptor_ui"], d["pmid"], d["reason"]) for d in dropped] == [
        ("D003920", "103", "question_not_single"),
        ("D003920", "103", "too_few_questions"),
        ("D006973", "102", "near_duplicate"),
    ]
    assert "D003920:102" in dropped[-1]["detail"]
    assert "across descriptors" in dropped[-1]["detail"]
    assert stats["counts"]["pairs"] == 3
    assert stats["drops"]["per_reason"] == {
        "near_duplicate": 1,
        "question_not_single": 1,
        "too_few_questions": 1,
    }


def test_stats_counts_subtrees_and_cost(built: tuple[Path, dict[str, Any]]) -> None:
    out_dir, stats = built
    assert json.loads((out_dir / "stats.json").read_text()) == stats
    per_descriptor = stats["counts"]["per_descriptor"]
    assert {ui: row["pairs"] for ui, row in per_descriptor.items()} == {
        "D001249": 0,
        "D003920": 2,
        "D006973": 1,
    }
    assert stats["counts"]["per_subtree"] == {
        "C08": {"descriptors": 1, "descriptors_with_pairs": 0, "pairs": 0},
        "C14": {"descriptors": 1, "descriptors_with_pairs": 1, "pairs": 1},
        "C18": {"descriptors": 1, "descriptors_with_pairs": 1, "pairs": 2},
        "C19": {"descriptors": 1, "descriptors_with_pairs": 1, "pairs": 2},
    }
    usage = stats["usage"]
    assert usage["per_stage_model"][0] == {
        "stage": "questions",
        "model": "model-a",
        "calls": 2,
        "prompt_tokens": 4000,
        "completion_tokens": 400,
        "cost_usd": 0.00084,
    }
    assert usage["per_stage_model"][1]["cost_usd"] is None
    assert usage["unpriced_models"] == ["model-b"]
    assert usage["total"]["cost_usd"] == 0.00084
    margin = stats["scores"]["margin"]
    assert margin["count"] == 3 and margin["min"] == margin["max"]
    assert subtree_of("C04.588.274") == "C04"


def test_card_and_readme(built: tuple[Path, dict[str, Any]]) -> None:
    out_dir, _ = built
    card = (out_dir / "card.md").read_text()
    for needle in [
        "3 preference pairs",
        "| D001249 | Asthma |",
        "| C18 | 1 | 1 | 2 |",
        "near_duplicate",
        "model-b",
        "question_general",
        "a" * 64,
        "**seed**: 7",
        "No price configured for: model-b",
        "chosen: hierarchy",
    ]:
        assert needle in card, needle
    readme = (out_dir / "README.md").read_text()
    assert readme.startswith("---\n") and readme.endswith(card)


def test_judge_spread_and_quality_gate_counts(built: tuple[Path, dict[str, Any]]) -> None:
    out_dir, stats = built
    assert stats["judge"] == {
        "count": 4,
        "missing": 1,
        "mean": 0.5,
        "stdev": 0.176777,
        "min": 0.25,
        "max": 0.75,
        "distinct": 3,
        "min_stdev": MIN_JUDGE_STDEV,
        "discriminates": True,
    }
    gates = stats["quality_gates"]
    assert list(gates)[:8] == [
        "question_scaffolding",
        "question_copies_example",
        "question_copies_title",
        "question_not_single",
        "question_not_standalone",
        "question_too_vague",
        "question_repeats_word",
        "question_off_topic",
    ]
    assert gates["question_not_single"] == {
        "applies_to": "question",
        "turned_away": 2,
        "dropped": 1,
    }
    assert gates["question_off_topic"] == {
        "applies_to": "question",
        "turned_away": 5,
        "dropped": 0,
    }
    assert gates["answer_loops"] == {"applies_to": "answer", "turned_away": 0, "dropped": 0}
    card = (out_dir / "card.md").read_text()
    assert "## Quality gates" in card
    assert "| gate | applies to | tries turned away | dropped | rejects |" in card
    assert "| question_not_single | question | 2 | 1 | not exactly one question" in card
    assert "| question_off_topic | question | 5 | 0 |" in card
    assert "| answer_loops | answer | 0 | 0 |" in card
    assert "| 4 | 1 | 0.5 | 0.1768 | 0.25 | 0.75 | 3 | yes |" in card
    assert "Warning" not in card


@pytest.mark.parametrize(
    ("scores", "warning"),
    [
        ([0.0, 0.0, 0.0], "the judge gave all 3 rated questions the same self-evaluation score"),
        (
            [0.5, 0.52, 0.5, 0.52],
            "the judge's self-evaluation scores barely vary (stdev 0.01 < "
            "quality.min_judge_stdev 0.05 over 4 questions)",
        ),
        ([0.5], "the judge gave all 1 rated questions the same"),
    ],
)
def test_card_warns_when_the_judge_does_not_discriminate(
    tmp_path: Path, scores: list[float], warning: str
) -> None:
    stats = write_dataset(
        [],
        [],
        [],
        tmp_path,
        descriptors=DESCRIPTORS,
        settings_summary={},
        prices={},
        cross_descriptor_dedup=None,
        plots_dir=None,
        judge_scores=scores,
        min_judge_stdev=MIN_JUDGE_STDEV,
    )
    assert stats["judge"]["discriminates"] is False
    card = (tmp_path / "card.md").read_text()
    assert f"> **Warning:** {warning}" in card
    validate(stats, "stats.schema.json", "stats")


def test_parquet_has_every_field(built: tuple[Path, dict[str, Any]]) -> None:
    out_dir, _ = built
    frame = pl.read_parquet(out_dir / "dataset.parquet")
    assert frame["id"].to_list() == ["D003920:101", "D003920:102", "D006973:201"]
    pairs = {p["id"]: p for p in build_pairs()[0]}
    for row in frame.iter_rows(named=True):
        assert json.loads(row["pair_json"]) == pairs[row["id"]]
        assert row["context"] == pairs[row["id"]]["context"]
        assert row["tree_numbers"] == DESCRIPTORS[row["descriptor_ui"]]["tree_numbers"]


def test_plots_are_written(built: tuple[Path, dict[str, Any]]) -> None:
    out_dir, _ = built
    names = sorted(p.name for p in (out_dir / "plots").iterdir())
    assert names == ["margin_histogram.png", "score_histograms.png", "subtree_coverage.png"]
    for name in names:
        assert (out_dir / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_byte_identical_across_runs(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = built
    write(tmp_path)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_empty_dataset_still_writes_valid_files(tmp_path: Path) -> None:
    stats = write_dataset(
        [],
        [],
        [],
        tmp_path,
        descriptors=DESCRIPTORS,
        settings_summary={},
        prices={},
        cross_descriptor_dedup=None,
        plots_dir=tmp_path / "plots",
        judge_scores=[],
        min_judge_stdev=MIN_JUDGE_STDEV,
    )
    assert stats["counts"]["pairs"] == 0
    assert stats["judge"]["count"] == 0 and not stats["judge"]["discriminates"]
    assert "> **Warning:** the judge rated no question" in (tmp_path / "card.md").read_text()
    assert pl.read_parquet(tmp_path / "dataset.parquet").height == 0
    assert (tmp_path / "sft.jsonl").read_text() == ""


def test_invalid_pair_names_the_record(tmp_path: Path) -> None:
    pair = build_pairs()[0][0]
    pair["chosen"]["question"] = ""
    with pytest.raises(SchemaValidationError, match="D003920:101"):
        write_dataset(
            [pair],
            [],
            [],
            tmp_path,
            descriptors=DESCRIPTORS,
            settings_summary={},
            prices={},
            cross_descriptor_dedup=None,
            plots_dir=None,
            judge_scores=[],
            min_judge_stdev=MIN_JUDGE_STDEV,
        )


def test_loads_with_datasets(built: tuple[Path, dict[str, Any]]) -> None:
    datasets = pytest.importorskip("datasets")
    out_dir, _ = built
    sft = datasets.load_dataset("json", data_files=str(out_dir / "sft.jsonl"), split="train")
    assert sft.num_rows == 3
    assert sft[0]["messages"][0]["role"] == "system"
    by_name = datasets.load_dataset(str(out_dir), "sft", split="train")
    assert by_name["id"] == sft["id"]
    preference = datasets.load_dataset(str(out_dir), "preference", split="train")
    assert set(preference.column_names) >= {"prompt", "chosen", "rejected"}
    full = datasets.load_dataset(
        "parquet", data_files=str(out_dir / "dataset.parquet"), split="train"
    )
    assert full.num_rows == 3 and "pair_json" in full.column_names
