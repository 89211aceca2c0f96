"""Assemble the final dataset folder from every descriptor's kept pairs and drops.

Output folder (a Hugging Face ``datasets`` layout; ``README.md`` names the configs):

* ``sft.jsonl``, ``preference.jsonl``: one validated record per kept pair.
* ``dataset.parquet``: every field (see :mod:`meshdistill.dataset.table`).
* ``dropped.jsonl``: every drop, including cross-descriptor near-duplicates found here.
* ``stats.json``, ``card.md``, ``README.md``.

Records are ordered by descriptor UI then PMID, JSON is written with sorted keys and no
time stamps, so identical inputs give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meshdistill.dataset.card import render_card, render_hf_readme
from meshdistill.dataset.plots import make_plots
from meshdistill.dataset.records import (
    DEFAULT_PREFERENCE_INSTRUCTION,
    to_preference_record,
    to_sft_record,
)
from meshdistill.dataset.stats import compute_stats
from meshdistill.dataset.table import canonical_json, write_parquet
from meshdistill.dedup import NearDuplicateFilter
from meshdistill.errors import InputError
from meshdistill.fileio import atomic_write_text
from meshdistill.schemas import validate

SFT_FILE = "sft.jsonl"
PREFERENCE_FILE = "preference.jsonl"
PARQUET_FILE = "dataset.parquet"
DROPPED_FILE = "dropped.jsonl"
STATS_FILE = "stats.json"
CARD_FILE = "card.md"
README_FILE = "README.md"
# `datasets` picks one file format per folder, so the parquet table is not a config; load it
# with load_dataset("parquet", data_files=...) or polars.
HF_CONFIGS = {"sft": SFT_FILE, "preference": PREFERENCE_FILE}
HF_DEFAULT_CONFIG = "sft"
USAGE_FIELDS = ("stage", "descriptor_ui", "model", "prompt_tokens", "completion_tokens")


def _pretty_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


def _write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(canonical_json(record) + "\n")


def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text if text.endswith("\n") else text + "\n")


def _pair_order(pair: Mapping[str, Any]) -> tuple[str, str]:
    return pair["descriptor"]["ui"], pair["source"]["pmid"]


def _drop_order(drop: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return drop["descriptor_ui"], drop["pmid"], drop["reason"], drop["detail"]


def remove_cross_descriptor_duplicates(
    pairs: Sequence[Mapping[str, Any]], dedup: NearDuplicateFilter
) -> tuple[list[Mapping[str, Any]], list[dict[str, str]]]:
    """Keep the first of each near-duplicate group of chosen questions, in (descriptor UI,
    PMID) order, so which copy survives does not depend on the order jobs finished."""
    kept: list[Mapping[str, Any]] = []
    dropped: list[dict[str, str]] = []
    for pair in sorted(pairs, key=_pair_order):
        earlier = dedup.is_duplicate(pair["id"], pair["chosen"]["question"])
        if earlier is None:
            kept.append(pair)
        else:
            dropped.append(
                {
                    "descriptor_ui": pair["descriptor"]["ui"],
                    "pmid": pair["source"]["pmid"],
                    "reason": "near_duplicate",
                    "detail": f"chosen question nearly repeats pair {earlier} (across descriptors)",
                }
            )
    return kept, dropped


def _check_usage(usage: Sequence[Mapping[str, Any]]) -> None:
    for number, row in enumerate(usage, start=1):
        missing = [name for name in USAGE_FIELDS if name not in row]
        if missing:
            raise InputError("usage rows", f"missing fields {missing}", f"row {number}")


def write_dataset(
    pairs: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
    usage: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    descriptors: Mapping[str, Mapping[str, Any]],
    settings_summary: Mapping[str, Any],
    prices: Mapping[str, Mapping[str, float]],
    cross_descriptor_dedup: NearDuplicateFilter | None,
    plots_dir: Path | None,
    judge_scores: Sequence[float | None],
    min_judge_stdev: float,
    system_prompt: str | None = None,
    include_context: bool = False,
    instruction_template: str = DEFAULT_PREFERENCE_INSTRUCTION,
    turned_away: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Write the dataset folder and return its statistics (also in ``stats.json``).

    ``descriptors``: UI -> {"name", "tree_numbers"} for every selected descriptor (so
    descriptors that yielded nothing still show in the counts). ``usage`` rows:
    {"stage", "descriptor_ui", "model", "prompt_tokens", "completion_tokens"}. ``prices``:
    model id -> {"input_per_mtok", "output_per_mtok"} in USD per million tokens.
    ``judge_scores``: the self-evaluation score of every scored question (None where the
    judge gave none); the card warns when their spread is below ``min_judge_stdev``.
    ``turned_away``: quality gate -> the generated tries it failed (each asked again, or
    dropped once the tries ran out).
    """
    for number, pair in enumerate(pairs, start=1):
        validate(pair, "pair_record.schema.json", f"pair {number} ({pair.get('id', '?')})")
    for number, drop in enumerate(dropped, start=1):
        validate(drop, "dropped_record.schema.json", f"drop record {number}")
    _check_usage(usage)

    ordered: list[Mapping[str, Any]] = sorted(pairs, key=_pair_order)
    all_dropped = [dict(drop) for drop in dropped]
    if cross_descriptor_dedup is not None:
        ordered, cross_drops = remove_cross_descriptor_duplicates(ordered, cross_descriptor_dedup)
        all_dropped += cross_drops
    all_dropped.sort(key=_drop_order)

    sft = [to_sft_record(p, system_prompt, include_context=include_context) for p in ordered]
    preference = [to_preference_record(p, instruction_template) for p in ordered]
    for record in sft:
        validate(record, "sft_record.schema.json", f"{SFT_FILE} record {record['id']}")
    for record in preference:
        where = f"{PREFERENCE_FILE} record {record['id']}"
        validate(record, "preference_record.schema.json", where)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / SFT_FILE, sft)
    _write_jsonl(out_dir / PREFERENCE_FILE, preference)
    _write_jsonl(out_dir / DROPPED_FILE, all_dropped)
    write_parquet(ordered, out_dir / PARQUET_FILE)

    stats = compute_stats(
        ordered,
        all_dropped,
        usage,
        descriptors=descriptors,
        prices=prices,
        judge_scores=judge_scores,
        min_judge_stdev=min_judge_stdev,
        turned_away=turned_away,
    )
    validate(stats, "stats.schema.json", str(out_dir / STATS_FILE))
    _write_text(out_dir / STATS_FILE, _pretty_json(stats))
    card = render_card(stats, settings_summary)
    _write_text(out_dir / CARD_FILE, card)
    _write_text(out_dir / README_FILE, render_hf_readme(card, HF_CONFIGS, HF_DEFAULT_CONFIG))
    if plots_dir is not None:
        make_plots(ordered, stats, Path(plots_dir))
    return stats
