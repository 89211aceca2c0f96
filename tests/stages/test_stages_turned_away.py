"""The card's "tries turned away": every failed try of a question or an answer, by gate."""

from __future__ import annotations

import json
from pathlib import Path

from meshdistill.stages.merged import turned_away_tries


def test_every_failed_try_counts_under_its_gate(tmp_path: Path) -> None:
    questions = tmp_path / "D000001.jsonl"
    records = [
        # asked again after two failed tries, then kept
        {
            "question": "Does X reduce Y?",
            "rejected_candidates": [
                {"gate": "question_off_topic"},
                {"gate": "question_repeats_word"},
            ],
        },
        # every try failed: the last gate also names the drop
        {
            "question": None,
            "rejected_candidates": [{"gate": "question_off_topic"}] * 4,
        },
        {"question": "Is A associated with B?", "rejected_candidates": []},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in records))
    pairs = [{"answer": {"text": "…", "rejected": [{"gate": "answer_unsupported"}]}}]
    dropped = [
        {"reason": "answer_loops", "rejected_answers": [{"gate": "answer_loops"}] * 2},
        {"reason": "near_duplicate"},
    ]
    assert turned_away_tries([str(questions)], pairs, dropped) == {
        "answer_loops": 2,
        "answer_unsupported": 1,
        "question_off_topic": 5,
        "question_repeats_word": 1,
    }
