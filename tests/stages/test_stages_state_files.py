"""State files and outputs: damaged caches and ledgers are named with what to do, an empty
dataset is a failure with its reason (unless asked for), and outputs share one file mode."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshdistill.errors import InputError, MeshDistillError
from meshdistill.fileio import atomic_write_text
from meshdistill.jsonl import write_jsonl
from meshdistill.llm.cache import RequestCache
from meshdistill.stages import merged
from meshdistill.stages.spend import SpendLedger

REPO = Path(__file__).resolve().parents[2]


def _filled_cache(path: Path, entries: int = 2000) -> None:
    with RequestCache(path) as cache:
        for number in range(entries):
            cache.put(f"key-{number}", {"reply": "x" * 200})
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_llm_cache_is_named_with_what_to_do(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "llm.sqlite"
    _filled_cache(path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"\x00garbage, not a database" * 400)
    with pytest.raises(InputError) as info:
        RequestCache(path)
    message = str(info.value)
    assert str(path) in message and "delete" in message
    assert not isinstance(info.value, sqlite3.Error)


def test_sound_llm_cache_opens(tmp_path: Path) -> None:
    path = tmp_path / "llm.sqlite"
    _filled_cache(path, entries=10)
    with RequestCache(path) as cache:
        assert len(cache) == 10


@pytest.mark.parametrize("content", ["{not json", '{"spent": 1}', '{"spent_usd": "lots"}', "[1]"])
def test_damaged_spend_ledger_is_named_with_what_to_do(tmp_path: Path, content: str) -> None:
    ledger = SpendLedger(tmp_path / "llm.sqlite")
    ledger.path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        ledger.spent_usd()
    assert str(ledger.path) in str(info.value) and "delete it" in str(info.value)


def _default_config() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8")))


def _merge_nothing(tmp_path: Path, allow_empty: bool, questions: int) -> dict[str, object]:
    files = {}
    for part in ("pairs", "dropped", "questions", "scored"):
        files[part] = tmp_path / f"{part}.jsonl"
        files[part].write_text("", encoding="utf-8")
    question_records = [
        {
            "descriptor_ui": "D001943",
            "question": "Which marker predicts relapse?",
            "generation": {"model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
        }
    ] * questions
    files["questions"].write_text(
        "".join(json.dumps(r) + "\n" for r in question_records), encoding="utf-8"
    )
    return merged.run(
        pairs_paths=[str(files["pairs"])],
        dropped_paths=[str(files["dropped"])],
        questions_paths=[str(files["questions"])],
        scored_paths=[str(files["scored"])],
        out_dir=str(tmp_path / "dataset"),
        plots_dir=str(tmp_path / "dataset" / "plots"),
        descriptors={"D001943": {"name": "Breast Neoplasms", "tree_numbers": ["C04.588.180"]}},
        dataset={
            "allow_empty": allow_empty,
            "preference_prompt": str(REPO / "prompts/preference_instruction.v1.txt"),
        },
        selection={"dedup": {"threshold": 0.7, "num_perm": 128, "shingle_size": 3}},
        quality=_default_config()["quality"],
        models={},
        summary={},
        logger=logging.getLogger("meshdistill.test.merged"),
    )


@pytest.mark.parametrize(("questions", "reason"), [(0, "logs/abstracts"), (3, "3 questions")])
def test_empty_dataset_fails_with_the_reason(tmp_path: Path, questions: int, reason: str) -> None:
    with pytest.raises(MeshDistillError) as info:
        _merge_nothing(tmp_path, allow_empty=False, questions=questions)
    assert "empty" in str(info.value) and reason in str(info.value)
    assert "dataset.allow_empty" in str(info.value)


def test_empty_dataset_when_allowed_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="meshdistill.test"):
        stats = _merge_nothing(tmp_path, allow_empty=True, questions=0)
    assert stats["counts"]["pairs"] == 0  # type: ignore[index]
    assert "empty" in caplog.text
    assert (tmp_path / "dataset" / "sft.jsonl").read_text() == ""


def test_outputs_get_the_mode_of_any_new_file(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "atomic.txt", "x")
        write_jsonl(tmp_path / "records.jsonl", [{"a": 1}])
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"atomic.txt": 0o644, "records.jsonl": 0o644, "plain.txt": 0o644}
