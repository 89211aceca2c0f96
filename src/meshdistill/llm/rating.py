"""Ratings from next-token probabilities: the expected value over a few answer tokens.

A small model asked to *write* a rating tends to write the same digit every time; its
probabilities over the possible answers still move with the input. The reply token is matched
after trimming white space and ignoring case, so ``" Yes"``, ``"yes"`` and ``"YES"`` all count for
``Yes``; probabilities of every matching token are added, then renormalised over the answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def rating_from_logprobs(
    top_logprobs: Mapping[str, float] | None, values: Mapping[str, float]
) -> tuple[dict[str, Any] | None, str | None]:
    """``({"rating", "probabilities", "coverage"}, None)`` or ``(None, problem)``.

    ``coverage`` is the probability mass the model put on any of the answers at all: a low
    value means the prompt did not make the model answer in the expected form.
    """
    if not top_logprobs:
        return None, "the reply carried no token log-probabilities (does the server support them?)"
    canonical = {answer.strip().lower(): answer for answer in values}
    mass = dict.fromkeys(values, 0.0)
    for token, logprob in top_logprobs.items():
        answer = canonical.get(token.strip().lower())
        if answer is not None:
            mass[answer] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0.0:
        answers = ", ".join(repr(a) for a in values)
        return None, f"none of the answers {answers} is among the model's likeliest next tokens"
    probabilities = {answer: round(p / total, 6) for answer, p in sorted(mass.items())}
    rating = sum(values[answer] * p for answer, p in mass.items()) / total
    return {
        "rating": round(rating, 6),
        "probabilities": probabilities,
        "coverage": round(min(total, 1.0), 6),
    }, None
