"""Quality gates for generated questions and answers (see :mod:`meshdistill.quality.gates`)."""

from meshdistill.quality.gates import (
    Verdict,
    answer_verdict,
    question_form_verdict,
    question_verdict,
)
from meshdistill.quality.settings import ANSWER_GATES, GATES, QUESTION_GATES, QualitySettings

__all__ = [
    "ANSWER_GATES",
    "GATES",
    "QUESTION_GATES",
    "QualitySettings",
    "Verdict",
    "answer_verdict",
    "question_form_verdict",
    "question_verdict",
]
