"""Choose one chosen/rejected question pair per source abstract from its scored questions.

Each abstract has one question per generator. Usable questions are ranked by the combined
score (hierarchy agreement of the retrieved context, plus the LLM self-evaluation); the best
becomes ``chosen`` and the worst ``rejected``. A pair is kept only when it carries a useful
preference signal, otherwise a drop record says why (``schemas/dropped_record.schema.json``):

* ``question_failed``: generation failed, or the question has no scores.
* ``question_not_single``: not exactly one well-formed question (the quality gate of that
  name, :func:`meshdistill.quality.question_form_verdict`, with the ``quality`` settings).
* ``judge_failed``: the self-evaluation is missing while the hierarchy weight is zero,
  so nothing is left to score the question by.
* ``too_few_questions``: fewer than two usable questions remain.
* ``below_min_score``: even the best question scores below ``min_chosen_score``.
* ``above_score_ceiling``: even the worst question scores at or above ``score_ceiling``.
  Both questions are then already good, so preferring one teaches little; KAILIN likewise
  keeps only pairs whose rejected question is clearly worse.
* ``margin_too_small``: chosen minus rejected is below ``min_margin``.
* ``above_kailin_threshold``: with ``kailin_filter`` set, some generator's question has a
  hierarchy score above ``kailin_filter.score_threshold``. This is KAILIN's released filter
  (``DPO/filtering/filter.py``): a source is kept only when *every* generator's score is at or
  below the threshold (0.5 in its README), whatever the self-evaluation says. It is checked
  first, over every generator's scored question.
* ``near_duplicate``: chosen and rejected are the same question, or the chosen question
  nearly repeats the chosen question of an earlier kept pair.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.dedup import NearDuplicateFilter, normalise_question
from meshdistill.errors import ConfigError
from meshdistill.quality import QualitySettings, question_form_verdict

SELF_EVAL_CRITERIA = ("relevance", "answerability", "specificity")
RATING_MIN = 1
RATING_MAX = 5
SCORE_DECIMALS = 9  # rounding before threshold checks, so 0.72 - 0.70 counts as 0.02
CONFIG_QUALITY = QualitySettings()  # equal to config.yaml's section (a test checks)


@dataclass(frozen=True)
class KailinFilter:
    """KAILIN's filter: keep a source only when every generator's hierarchy score <= this."""

    score_threshold: float

    def __post_init__(self) -> None:
        if not 0 <= self.score_threshold <= 1:
            raise ConfigError("selection.kailin_filter.score_threshold", "must be in [0, 1]")


# What happens to a pair whose chosen question no answer passes the gates for.
UNANSWERABLE_CHOSEN = ("swap", "drop")


@dataclass(frozen=True)
class SelectionSettings:
    """Weights and thresholds for pair selection (config section ``selection``).

    ``compare_on_common_components``: when some usable question of an abstract lacks a
    self-evaluation, score every question of that abstract on the hierarchy alone, so the
    chosen/rejected comparison never mixes a two-part score with a one-part score.
    """

    hierarchy_weight: float = 0.7
    self_eval_weight: float = 0.3
    min_margin: float = 0.02
    min_chosen_score: float = 0.0
    score_ceiling: float | None = None
    compare_on_common_components: bool = True
    kailin_filter: KailinFilter | None = None
    unanswerable_chosen: str = "swap"

    def __post_init__(self) -> None:
        if self.unanswerable_chosen not in UNANSWERABLE_CHOSEN:
            raise ConfigError(
                "selection.unanswerable_chosen",
                f"must be one of {list(UNANSWERABLE_CHOSEN)}, got {self.unanswerable_chosen!r}",
            )
        if self.hierarchy_weight < 0 or self.self_eval_weight < 0:
            raise ConfigError("selection.*_weight", "weights must not be negative")
        if self.hierarchy_weight + self.self_eval_weight <= 0:
            raise ConfigError("selection.*_weight", "at least one weight must be positive")
        if self.min_margin < 0:
            raise ConfigError("selection.min_margin", "must not be negative")
        if self.score_ceiling is not None and not 0 < self.score_ceiling <= 1:
            raise ConfigError("selection.score_ceiling", "must be in (0, 1] or null")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], setting: str = "selection") -> SelectionSettings:
        """Build from a config section, naming unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"{setting}.{unknown[0]}", f"unknown setting (known: {sorted(known)})"
            )
        values = dict(data)
        kailin = values.get("kailin_filter")
        if isinstance(kailin, Mapping):
            known_filter = set(KailinFilter.__dataclass_fields__)
            if set(kailin) != known_filter:
                raise ConfigError(
                    f"{setting}.kailin_filter", f"must have exactly the keys {sorted(known_filter)}"
                )
            values["kailin_filter"] = KailinFilter(**kailin)
        return cls(**values)


def self_eval_score(self_eval: Mapping[str, float] | None) -> float | None:
    """Mean of the 1..5 ratings mapped linearly to [0, 1] (1 -> 0, 5 -> 1); None if absent."""
    if self_eval is None:
        return None
    span = RATING_MAX - RATING_MIN
    values = [(self_eval[name] - RATING_MIN) / span for name in SELF_EVAL_CRITERIA]
    return sum(values) / len(values)


def combined_score(
    hierarchy: float, self_eval_score: float | None, settings: SelectionSettings
) -> float:
    """Weighted mean of the component scores, in [0, 1].

    The weights are renormalised over the components present: with no self-evaluation the
    result is the hierarchy score itself, not a score shrunk by the missing weight.
    """
    if self_eval_score is None:
        if settings.hierarchy_weight == 0:
            raise ConfigError(
                "selection.hierarchy_weight",
                "is 0, so a question without a self-evaluation cannot be scored",
            )
        return hierarchy
    total = settings.hierarchy_weight + settings.self_eval_weight
    weighted = settings.hierarchy_weight * hierarchy + settings.self_eval_weight * self_eval_score
    return weighted / total


@dataclass
class PairChoice:
    """A kept pair: copies of the two scored records (``scores.combined`` set to the value
    used for the choice) and their combined-score margin."""

    pmid: str
    chosen: dict[str, Any]
    rejected: dict[str, Any]
    margin: float

    @property
    def descriptor_ui(self) -> str:
        return str(self.chosen["descriptor_ui"])

    @property
    def pair_id(self) -> str:
        return pair_id(self.descriptor_ui, self.pmid)

    def swapped(self) -> PairChoice:
        """The pair with chosen and rejected exchanged (its margin negated)."""
        return PairChoice(self.pmid, self.rejected, self.chosen, -self.margin)


def pair_id(descriptor_ui: str, pmid: str) -> str:
    """The id of a pair and of every dataset record made from it."""
    return f"{descriptor_ui}:{pmid}"


def _drop(descriptor_ui: str, pmid: str, reason: str, detail: str) -> dict[str, str]:
    return {"descriptor_ui": descriptor_ui, "pmid": pmid, "reason": reason, "detail": detail}


def _usable(
    record: Mapping[str, Any], settings: SelectionSettings, quality: QualitySettings
) -> tuple[str, str] | None:
    """(reason, detail) when a scored record cannot take part in the choice, else None."""
    generator = record["generator"]
    if record["question"] is None:
        tries = record.get("rejected_candidates") or []
        if tries:  # the gate that stopped the last try names the drop
            last = tries[-1]
            return last["gate"], f"generator {generator}, {len(tries)} tries: {last['detail']}"
        error = record["generation"].get("error") or "no question"
        return "question_failed", f"generator {generator}: {error}"
    if record["generation"]["status"] != "ok":
        error = record["generation"].get("error") or "no question"
        return "question_failed", f"generator {generator}: {error}"
    form = question_form_verdict(record["question"], quality)
    if form is not None:
        return form.gate, f"generator {generator}: {form.detail}"
    if record["scores"] is None:
        return "question_failed", f"generator {generator}: question was not scored"
    if record["scores"]["self_eval"] is None and settings.hierarchy_weight == 0:
        judge = record.get("judge") or {}
        error = judge.get("error") or "no self-evaluation"
        return "judge_failed", f"generator {generator}: {error}"
    return None


def _score_group(
    records: list[dict[str, Any]], settings: SelectionSettings
) -> list[dict[str, Any]]:
    """Copies of ``records`` with ``scores.self_eval_score`` and ``scores.combined`` set."""
    evaluations = [self_eval_score(r["scores"]["self_eval"]) for r in records]
    hierarchy_only = settings.compare_on_common_components and any(e is None for e in evaluations)
    scored = []
    for record, evaluation in zip(records, evaluations, strict=True):
        result = copy.deepcopy(record)
        result["scores"]["self_eval_score"] = evaluation
        used = None if hierarchy_only else evaluation
        result["scores"]["combined"] = round(
            combined_score(record["scores"]["hierarchy"], used, settings), SCORE_DECIMALS
        )
        scored.append(result)
    return scored


def select_pairs(
    scored: Sequence[Mapping[str, Any]],
    settings: SelectionSettings,
    dedup: NearDuplicateFilter | None = None,
    quality: QualitySettings = CONFIG_QUALITY,
) -> tuple[list[PairChoice], list[dict[str, str]]]:
    """Pick at most one pair per (descriptor, PMID), in order of first appearance.

    ``quality``: the ``quality`` config section, for the form of each question (its
    defaults are those of ``config.yaml``).

    Returns the kept pairs and the drop records (question-level drops name the generator
    in ``detail``; a source abstract may have both question-level drops and a kept pair).
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in scored:
        groups.setdefault((record["descriptor_ui"], record["pmid"]), []).append(record)

    pairs: list[PairChoice] = []
    dropped: list[dict[str, str]] = []
    for (descriptor_ui, pmid), records in groups.items():
        above = _above_kailin_threshold(records, settings.kailin_filter)
        if above is not None:
            dropped.append(_drop(descriptor_ui, pmid, "above_kailin_threshold", above))
            continue
        usable: list[dict[str, Any]] = []
        for record in records:
            problem = _usable(record, settings, quality)
            if problem is None:
                usable.append(dict(record))
            else:
                dropped.append(_drop(descriptor_ui, pmid, *problem))
        if len(usable) < 2:
            dropped.append(
                _drop(
                    descriptor_ui,
                    pmid,
                    "too_few_questions",
                    f"{len(usable)} usable question(s) of {len(records)}",
                )
            )
            continue
        ranked = sorted(
            _score_group(usable, settings),
            key=lambda r: (-r["scores"]["combined"], r["generator"]),
        )
        chosen, rejected = ranked[0], ranked[-1]
        best, worst = chosen["scores"]["combined"], rejected["scores"]["combined"]
        margin = round(best - worst, SCORE_DECIMALS)
        reason = _threshold_problem(best, worst, margin, settings)
        if reason is not None:
            dropped.append(_drop(descriptor_ui, pmid, *reason))
            continue
        if normalise_question(chosen["question"]) == normalise_question(rejected["question"]):
            dropped.append(
                _drop(
                    descriptor_ui,
                    pmid,
                    "near_duplicate",
                    "chosen and rejected questions are identical after normalising",
                )
            )
            continue
        key = pair_id(descriptor_ui, pmid)
        if dedup is not None:
            earlier = dedup.is_duplicate(key, chosen["question"])
            if earlier is not None:
                dropped.append(
                    _drop(
                        descriptor_ui,
                        pmid,
                        "near_duplicate",
                        f"chosen question nearly repeats pair {earlier}",
                    )
                )
                continue
        pairs.append(PairChoice(pmid=pmid, chosen=chosen, rejected=rejected, margin=margin))
    return pairs, dropped


def _above_kailin_threshold(
    records: Sequence[Mapping[str, Any]], kailin: KailinFilter | None
) -> str | None:
    """Detail naming the generators scoring above KAILIN's threshold, or None to keep."""
    if kailin is None:
        return None
    above = [
        f"generator {r['generator']} hierarchy score {r['scores']['hierarchy']:.4f}"
        for r in records
        if r["scores"] is not None and r["scores"]["hierarchy"] > kailin.score_threshold
    ]
    if not above:
        return None
    return f"{'; '.join(above)} > kailin_filter.score_threshold {kailin.score_threshold}"


def _threshold_problem(
    best: float, worst: float, margin: float, settings: SelectionSettings
) -> tuple[str, str] | None:
    if best < settings.min_chosen_score:
        return "below_min_score", (
            f"best combined score {best:.4f} < min_chosen_score {settings.min_chosen_score}"
        )
    if settings.score_ceiling is not None and worst >= settings.score_ceiling:
        return "above_score_ceiling", (
            f"worst combined score {worst:.4f} >= score_ceiling {settings.score_ceiling}"
        )
    if margin < settings.min_margin:
        return "margin_too_small", f"margin {margin:.4f} < min_margin {settings.min_margin}"
    return None
