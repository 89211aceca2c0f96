"""Stage 5: merge every descriptor's pairs into one dataset with card, stats and plots."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from meshdistill.dataset import write_dataset
from meshdistill.dedup import NearDuplicateFilter
from meshdistill.errors import MeshDistillError
from meshdistill.jsonl import read_jsonl
from meshdistill.llm.models import check_batch_settings
from meshdistill.quality import QualitySettings
from meshdistill.stages.filtered import dedup_filter


def turned_away_tries(
    questions: Sequence[str],
    pairs: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
) -> dict[str, int]:
    """Quality gate -> how many generated tries it failed: every question try and every answer
    try a gate turned away, whether the next try passed or the record was dropped."""
    gates: Counter[str] = Counter()
    for path in questions:
        for record in read_jsonl(path):
            gates.update(c["gate"] for c in record.get("rejected_candidates", []))
    for pair in pairs:
        gates.update(t["gate"] for t in pair["answer"].get("rejected", []))
    for drop in dropped:
        gates.update(t["gate"] for t in drop.get("rejected_answers", []))
    return dict(sorted(gates.items()))


def usage_rows(
    questions: Sequence[str],
    scored: Sequence[str],
    pairs: Sequence[str],
    dropped: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """Tokens of every LLM call behind the dataset, by stage, descriptor and model."""

    def row(stage: str, descriptor_ui: str, call: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "stage": stage,
            "descriptor_ui": descriptor_ui,
            "model": call["model"],
            "prompt_tokens": call["usage"]["prompt_tokens"],
            "completion_tokens": call["usage"]["completion_tokens"],
        }

    for path in questions:
        for record in read_jsonl(path):
            ui = record["descriptor_ui"]
            tries = [c["generation"] for c in record.get("rejected_candidates", [])]
            if record["question"] is not None:  # otherwise generation is the last rejected try
                tries.append(record["generation"])
            for call in tries:
                yield row("questions", ui, call)
    for path in scored:
        for record in read_jsonl(path):
            if record.get("judge"):
                yield row("judge", record["descriptor_ui"], record["judge"])
    for path in pairs:
        for record in read_jsonl(path):
            answer = record["answer"]
            calls = [r.get("generation") for r in answer.get("rejected", [])]
            calls.append(answer.get("generation"))  # none where the answer was extracted
            for call in filter(None, calls):
                yield row("answers", record["descriptor"]["ui"], call)
    for path in dropped:
        for record in read_jsonl(path):
            tries = record.get("rejected_answers", [])
            calls = [r["generation"] for r in tries if "generation" in r]
            if record.get("generation"):
                calls.append(record["generation"])
            for call in calls:
                yield row("answers", record["descriptor_ui"], call)


def judge_scores(scored: Sequence[str]) -> list[float | None]:
    """The self-evaluation score of every question that reached the judge, in file order
    (None where the judge gave no usable rating)."""
    return [
        record["scores"]["self_eval_score"]
        for path in sorted(scored)
        for record in read_jsonl(path)
        if record.get("scores") is not None
    ]


class EmptyDatasetError(MeshDistillError):
    """The run produced no preference pair (and ``dataset.allow_empty`` is false)."""


def why_empty(questions: int, dropped: Sequence[Mapping[str, Any]]) -> str:
    """What left the dataset empty, from the question count and the drop records."""
    if questions == 0:
        return (
            "no question was generated because no descriptor found any abstract; the warnings "
            "in logs/abstracts/ say why and which setting to change"
        )
    reasons = Counter(str(drop.get("reason")) for drop in dropped)
    listed = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    return (
        f"{questions} questions were generated but every candidate pair was dropped "
        f"({listed or 'no drop recorded'}); results/filtered/*.dropped.jsonl has each drop"
    )


def prices(models: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Billed USD per million tokens: a batch model pays its batch price factor."""
    billed = {}
    for model_id, spec in sorted(models.items()):
        batch = check_batch_settings(model_id, spec)
        factor = batch.price_factor if batch.enabled else 1.0
        billed[model_id] = {
            "input_per_mtok": float(spec.get("price_input_per_mtok", 0.0)) * factor,
            "output_per_mtok": float(spec.get("price_output_per_mtok", 0.0)) * factor,
        }
    return billed


def run(
    *,
    pairs_paths: Sequence[str],
    dropped_paths: Sequence[str],
    questions_paths: Sequence[str],
    scored_paths: Sequence[str],
    out_dir: str,
    plots_dir: str,
    descriptors: Mapping[str, Mapping[str, Any]],
    dataset: Mapping[str, Any],
    selection: Mapping[str, Any],
    quality: Mapping[str, Any],
    models: Mapping[str, Mapping[str, Any]],
    summary: Mapping[str, Any],
    logger: logging.Logger,
) -> dict[str, Any]:
    pairs = [record for path in sorted(pairs_paths) for record in read_jsonl(path)]
    dropped = [record for path in sorted(dropped_paths) for record in read_jsonl(path)]
    usage = list(usage_rows(questions_paths, scored_paths, pairs_paths, dropped_paths))
    if not pairs:
        questions = sum(1 for path in questions_paths for _ in read_jsonl(path))
        reason = f"the dataset is empty: {why_empty(questions, dropped)}"
        if not dataset["allow_empty"]:
            raise EmptyDatasetError(
                f"{reason}. (To accept an empty dataset, set dataset.allow_empty: true.)"
            )
        logger.warning("%s (dataset.allow_empty is true: writing it anyway)", reason)
    cross: NearDuplicateFilter = dedup_filter(selection)
    gates = QualitySettings.from_mapping(quality)
    stats = write_dataset(
        pairs,
        dropped,
        usage,
        Path(out_dir),
        descriptors=descriptors,
        settings_summary=summary,
        prices=prices(models),
        cross_descriptor_dedup=cross,
        plots_dir=Path(plots_dir),
        judge_scores=judge_scores(scored_paths),
        min_judge_stdev=gates.min_judge_stdev,
        system_prompt=dataset.get("system_prompt"),
        include_context=bool(dataset.get("include_context_in_sft", True)),
        instruction_template=Path(dataset["preference_prompt"]).read_text(encoding="utf-8"),
        turned_away=turned_away_tries(questions_paths, pairs, dropped),
    )
    logger.info("dataset: %s", {k: stats[k] for k in sorted(stats) if k.endswith("count")})
    if not stats["judge"]["discriminates"]:
        logger.warning("judge spread: %s", stats["judge"])
    return stats
