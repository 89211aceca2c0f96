"""The judge's self-evaluation of a question: requests and how their replies become ratings.

* Chat mode (instruction-tuned models): one request, a JSON reply with three 1-5 ratings.
* Completion mode (base models): one request per criterion, each a yes/no question about the
  question; the rating is the expected value under the model's probabilities of the answer
  tokens (``ratings`` in the prompt file, e.g. Yes = 5, No = 1). Sampled ratings from a small
  model barely vary; these probabilities do.

Either way the result is ``{criterion: rating in [1, 5]}`` and one call record whose usage sums
every request behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.llm.types import LLMRequest, LLMResult
from meshdistill.selection import SELF_EVAL_CRITERIA
from meshdistill.stages.llm_roles import Role, call_record
from meshdistill.stages.prompt_checks import criteria_of_prompt

#: Decimal places kept of a probability-based rating (stable across platforms).
RATING_DECIMALS = 4


def criteria_of(role: Role) -> dict[str, str]:
    if role.reply == "rating":
        criteria_of_prompt(role.prompt)
    return dict(role.prompt.criteria or {})


def judge_requests(role: Role, items: Sequence[tuple[str, str, str]]) -> list[LLMRequest]:
    """The requests that rate each ``(key, abstract, question)``; ids start with ``key``.

    Rating requests come criterion by criterion, so consecutive prompts share their worked
    examples and a local model reuses that prefix instead of reading it again."""
    if role.reply != "rating":
        return [
            role.request(key, abstract=abstract, question=question)
            for key, abstract, question in items
        ]
    criteria = criteria_of(role)
    requests: list[LLMRequest] = []
    for criterion in SELF_EVAL_CRITERIA:

        def verdict(example: Mapping[str, Any], criterion: str = criterion) -> dict[str, str]:
            return {"verdict": str((example.get("verdicts") or {}).get(criterion, ""))}

        requests.extend(
            role.request(
                f"{key}|{criterion}",
                example_fields=verdict,
                abstract=abstract,
                question=question,
                criterion=criteria[criterion],
            )
            for key, abstract, question in items
        )
    return requests


def self_evaluation(
    role: Role, key: str, results: Mapping[str, LLMResult]
) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """The ratings of one question (None if any failed) and its call record."""
    if role.reply != "rating":
        result = results[key]
        value = result.value
        ratings = {c: float(value[c]) for c in SELF_EVAL_CRITERIA} if value else None
        return ratings, call_record(result, role)
    parts = [results[f"{key}|{criterion}"] for criterion in SELF_EVAL_CRITERIA]
    record = _combined_record(parts, role)
    if any(p.value is None for p in parts):
        return None, record
    ratings = {
        criterion: round(float(part.value["rating"]), RATING_DECIMALS)  # type: ignore[index]
        for criterion, part in zip(SELF_EVAL_CRITERIA, parts, strict=True)
    }
    return ratings, record


def _combined_record(parts: Sequence[LLMResult], role: Role) -> dict[str, Any]:
    records = [call_record(p, role) for p in parts]
    failed = next((r for r in records if r["status"] != "ok"), None)
    first = records[0]
    return {
        **first,
        "status": "failed" if failed else "ok",
        "error": failed["error"] if failed else None,
        "raw_reply": failed["raw_reply"] if failed else None,
        "usage": {
            "prompt_tokens": sum(r["usage"]["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["usage"]["completion_tokens"] for r in records),
        },
    }
