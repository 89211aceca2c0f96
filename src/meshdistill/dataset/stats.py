"""Summary statistics of a built dataset: counts, score distributions, drops, token use.

Everything here is plain JSON (sorted keys, floats rounded to ``FLOAT_DECIMALS``) so that
``stats.json`` and the card built from it are byte-identical across identical runs.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshdistill.quality import ANSWER_GATES, QUESTION_GATES

FLOAT_DECIMALS = 6
TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are quoted per million tokens
SUBTREE_DEPTH = 1  # "C04.588.274" -> "C04": the top-level category under a MeSH branch letter

SCORE_SERIES = (
    ("chosen_hierarchy", ("chosen", "hierarchy")),
    ("rejected_hierarchy", ("rejected", "hierarchy")),
    ("chosen_self_eval", ("chosen", "self_eval_score")),
    ("rejected_self_eval", ("rejected", "self_eval_score")),
    ("chosen_combined", ("chosen", "combined")),
    ("rejected_combined", ("rejected", "combined")),
)


def rounded(value: float) -> float:
    return round(float(value), FLOAT_DECIMALS)


def subtree_of(tree_number: str) -> str:
    """The top-level subtree of a tree number: letter and two digits, e.g. ``C04``."""
    return ".".join(tree_number.split(".")[:SUBTREE_DEPTH])


def distribution(values: Iterable[float | None]) -> dict[str, Any]:
    """count, min, median, mean and max of the non-null values (nulls counted apart)."""
    all_values = list(values)
    present = [float(v) for v in all_values if v is not None]
    summary: dict[str, Any] = {"count": len(present), "missing": len(all_values) - len(present)}
    if present:
        summary.update(
            min=rounded(min(present)),
            median=rounded(statistics.median(present)),
            mean=rounded(statistics.fmean(present)),
            max=rounded(max(present)),
        )
    else:
        summary.update(min=None, median=None, mean=None, max=None)
    return summary


def judge_spread(scores: Iterable[float | None], min_stdev: float) -> dict[str, Any]:
    """How much the judge's self-evaluation scores (0..1) vary over every scored question.

    ``stdev`` is the population standard deviation. ``discriminates`` is false when fewer
    than two questions were rated, when every score is the same, or when the spread is
    below ``min_stdev``: such a judge adds nothing to the choice between questions.
    """
    all_scores = list(scores)
    present = [float(v) for v in all_scores if v is not None]
    spread: dict[str, Any] = {
        "count": len(present),
        "missing": len(all_scores) - len(present),
        "min_stdev": rounded(min_stdev),
    }
    if present:
        stdev = statistics.pstdev(present)
        spread.update(
            mean=rounded(statistics.fmean(present)),
            stdev=rounded(stdev),
            min=rounded(min(present)),
            max=rounded(max(present)),
            distinct=len(set(present)),
            discriminates=len(set(present)) > 1 and stdev >= min_stdev,
        )
    else:
        spread.update(mean=None, stdev=None, min=None, max=None, distinct=0, discriminates=False)
    return spread


def gate_counts(
    dropped: Sequence[Mapping[str, Any]], turned_away: Mapping[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Per quality gate (every gate listed, in gate order): what it applies to, how many tries
    it turned away (``turned_away``: gate -> failed tries, asked again or not) and how many drop
    records name it."""
    reasons = Counter(drop["reason"] for drop in dropped)
    tries = turned_away or {}
    kinds = [("question", QUESTION_GATES), ("answer", ANSWER_GATES)]
    return {
        gate: {"applies_to": kind, "turned_away": tries.get(gate, 0), "dropped": reasons[gate]}
        for kind, gates in kinds
        for gate in gates
    }


def score_values(pairs: Sequence[Mapping[str, Any]], name: str) -> list[float | None]:
    """The named score series (see ``SCORE_SERIES``, plus ``margin``) over ``pairs``."""
    if name == "margin":
        return [pair["margin"] for pair in pairs]
    side, field = dict(SCORE_SERIES)[name]
    return [pair[side]["scores"][field] for pair in pairs]


def _descriptor_table(
    pairs: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
    descriptors: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for ui, info in descriptors.items():
        table[ui] = {"name": info["name"], "tree_numbers": sorted(info["tree_numbers"])}
    for pair in pairs:
        descriptor = pair["descriptor"]
        table.setdefault(
            descriptor["ui"],
            {
                "name": descriptor["name"],
                "tree_numbers": sorted(descriptor["tree_numbers"]),
            },
        )
    kept = Counter(pair["descriptor"]["ui"] for pair in pairs)
    lost = Counter(drop["descriptor_ui"] for drop in dropped)
    for ui, row in table.items():
        row["pairs"] = kept[ui]
        row["dropped"] = lost[ui]
    return dict(sorted(table.items()))


def _subtree_table(per_descriptor: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per top-level subtree: configured descriptors, those with pairs, and pairs. A
    descriptor under several subtrees counts in each."""
    table: dict[str, dict[str, int]] = {}
    for row in per_descriptor.values():
        for subtree in sorted({subtree_of(t) for t in row["tree_numbers"]}):
            entry = table.setdefault(
                subtree, {"descriptors": 0, "descriptors_with_pairs": 0, "pairs": 0}
            )
            entry["descriptors"] += 1
            entry["descriptors_with_pairs"] += int(row["pairs"] > 0)
            entry["pairs"] += row["pairs"]
    return dict(sorted(table.items()))


def _cost(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    prices: Mapping[str, Mapping[str, float]],
) -> float | None:
    price = prices.get(model)
    if price is None:
        return None
    return rounded(
        prompt_tokens * price["input_per_mtok"] / TOKENS_PER_PRICE_UNIT
        + completion_tokens * price["output_per_mtok"] / TOKENS_PER_PRICE_UNIT
    )


def _usage_rows(
    usage: Sequence[Mapping[str, Any]],
    prices: Mapping[str, Mapping[str, float]],
    keys: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Calls, tokens and cost grouped by ``keys`` (e.g. stage and model), in sorted order."""
    totals: dict[tuple[str, ...], list[int]] = {}
    for row in usage:
        counts = totals.setdefault(tuple(str(row[k]) for k in keys), [0, 0, 0])
        counts[0] += 1
        counts[1] += int(row["prompt_tokens"])
        counts[2] += int(row["completion_tokens"])
    rows = []
    for group, (calls, prompt_tokens, completion_tokens) in sorted(totals.items()):
        fields = dict(zip(keys, group, strict=True))
        rows.append(
            {
                **fields,
                "calls": calls,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "cost_usd": _cost(fields["model"], prompt_tokens, completion_tokens, prices),
            }
        )
    return rows


def _usage_table(
    usage: Sequence[Mapping[str, Any]], prices: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    rows = _usage_rows(usage, prices, ("stage", "model"))
    unpriced = {r["model"] for r in rows if r["cost_usd"] is None}
    total_cost = sum(r["cost_usd"] for r in rows if r["cost_usd"] is not None)
    return {
        "per_stage_model": rows,
        "per_descriptor_stage": _usage_rows(usage, prices, ("descriptor_ui", "stage", "model")),
        "total": {
            "calls": sum(r["calls"] for r in rows),
            "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
            "completion_tokens": sum(r["completion_tokens"] for r in rows),
            "cost_usd": rounded(total_cost),
        },
        "unpriced_models": sorted(unpriced),
    }


def compute_stats(
    pairs: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
    usage: Sequence[Mapping[str, Any]],
    *,
    descriptors: Mapping[str, Mapping[str, Any]],
    prices: Mapping[str, Mapping[str, float]],
    judge_scores: Iterable[float | None],
    min_judge_stdev: float,
    turned_away: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Every figure the card and the plots show, as sorted plain JSON.

    ``judge_scores``: the self-evaluation score of every scored question (kept or not),
    None where the judge gave none. ``turned_away``: gate -> tries it failed.
    """
    per_descriptor = _descriptor_table(pairs, dropped, descriptors)
    drops_per_descriptor: dict[str, dict[str, int]] = {}
    for drop in dropped:
        reasons = drops_per_descriptor.setdefault(drop["descriptor_ui"], {})
        reasons[drop["reason"]] = reasons.get(drop["reason"], 0) + 1
    scores = {name: distribution(score_values(pairs, name)) for name, _ in SCORE_SERIES}
    scores["margin"] = distribution(score_values(pairs, "margin"))
    return {
        "counts": {
            "pairs": len(pairs),
            "dropped": len(dropped),
            "source_abstracts": len({(p["descriptor"]["ui"], p["source"]["pmid"]) for p in pairs}),
            "per_descriptor": per_descriptor,
            "per_subtree": _subtree_table(per_descriptor),
        },
        "generators": {
            "chosen": dict(sorted(Counter(p["chosen"]["generator"] for p in pairs).items())),
            "rejected": dict(sorted(Counter(p["rejected"]["generator"] for p in pairs).items())),
        },
        "preferred_by": dict(sorted(Counter(p["preferred_by"] for p in pairs).items())),
        "scores": scores,
        "drops": {
            "per_reason": dict(sorted(Counter(d["reason"] for d in dropped).items())),
            "per_descriptor": {
                ui: dict(sorted(reasons.items()))
                for ui, reasons in sorted(drops_per_descriptor.items())
            },
        },
        "quality_gates": gate_counts(dropped, turned_away),
        "judge": judge_spread(judge_scores, min_judge_stdev),
        "usage": _usage_table(usage, prices),
    }
