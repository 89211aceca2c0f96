"""Thresholds of the quality gates (config section ``quality``) and the gates' names.

A gate's name is the ``reason`` of the drop records it causes, so the names here are the
ones listed in ``schemas/dropped_record.schema.json`` and explained in the dataset card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from meshdistill.errors import ConfigError

QUESTION_GATES = (
    "question_scaffolding",
    "question_copies_example",
    "question_copies_title",
    "question_not_single",
    "question_not_standalone",
    "question_too_vague",
    "question_repeats_word",
    "question_off_topic",
)
ANSWER_GATES = (
    "answer_empty",
    "answer_truncated",
    "answer_loops",
    "answer_too_long",
    "answer_restates_question",
    "answer_off_question",
    "answer_lacks_figure",
    "answer_reverses_source",
    "answer_unsupported",
)
GATES = QUESTION_GATES + ANSWER_GATES

_FRACTIONS = (
    "extract_title_word_weight",
    "example_copy_jaccard",
    "title_copy_fraction",
    "topic_min_shared_fraction",
    "loop_max_repeated_fraction",
    "answer_max_question_jaccard",
    "answer_min_supported_fraction",
    "answer_min_sentence_support",
)
_NON_NEGATIVE = (
    "instruction_echo_words",
    "topic_min_shared_words",
    "topic_max_unknown_words",
    "min_question_words",
    "answer_min_new_words",
    "answer_min_question_words",
    "min_judge_stdev",
)
_POSITIVE = (
    "min_question_chars",
    "max_question_chars",
    "loop_ngram_words",
    "loop_max_char_run",
    "question_max_word_uses",
    "answer_max_sentences",
    "answer_quote_max_sentences",
    "extract_min_question_words",
)
_TEXT_LISTS = (
    "disabled_gates",
    "scaffolding_labels",
    "meta_references",
    "deictic_words",
    "judgement_words",
    "question_vocabulary",
    "method_sections",
    "method_phrases",
    "background_sections",
    "background_phrases",
    "quantity_openings",
    "definition_openings",
    "relation_words",
    "rising_words",
    "falling_words",
)


@dataclass(frozen=True)
class QualitySettings:
    """What each gate rejects; the defaults are those of ``config.yaml``.

    ``instruction_echo_words``: a question sharing a run of this many consecutive words with
    the prompt's instruction text echoes it (0 switches the check off). Runs that also occur
    in the source title or abstract do not count: those words are the abstract's own.
    """

    disabled_gates: tuple[str, ...] = ()
    # question_scaffolding
    scaffolding_labels: tuple[str, ...] = ("Title", "Abstract", "Topic", "Question", "Answer")
    scaffolding_characters: str = "{}[]:"
    meta_references: tuple[str, ...] = (
        "the abstract",
        "this abstract",
        "the above abstract",
        "the passage",
        "this passage",
        "the text above",
        "the above text",
        "the study",
        "the present study",
        "the authors",
        "the researchers",
        "the investigators",
    )
    instruction_echo_words: int = 4
    # question_copies_example
    example_copy_jaccard: float = 0.5
    # question_copies_title
    title_copy_fraction: float = 0.8
    # question_off_topic
    topic_min_shared_words: int = 2
    topic_min_shared_fraction: float = 0.3
    judgement_words: tuple[str, ...] = ("best", "optimal", "ideal", "cost", "costs", "safest")
    topic_max_unknown_words: int = 2
    question_vocabulary: tuple[str, ...] = (
        "effect",
        "impact",
        "role",
        "associated",
        "association",
        "risk",
        "use",
        "used",
        "increase",
        "increased",
        "higher",
        "lower",
        "reduction",
        "reduce",
        "difference",
        "differ",
        "significance",
        "reason",
        "rationale",
        "useful",
        "long",
        "term",
        "better",
        "worse",
        "outcome",
        "benefit",
        "compared",
        "main",
        "finding",
        "findings",
        "method",
        "examined",
        "studied",
    )
    # question_not_single
    min_question_words: int = 5
    min_question_chars: int = 15
    max_question_chars: int = 400
    require_question_mark: bool = True
    require_capital_start: bool = True
    # question_not_standalone
    deictic_words: tuple[str, ...] = ("this", "these", "those")
    # answer_loops
    loop_ngram_words: int = 3
    loop_max_repeated_fraction: float = 0.2
    loop_max_char_run: int = 8
    # answer_restates_question
    answer_min_new_words: int = 2
    answer_max_question_jaccard: float = 0.8
    # answer_off_question
    answer_min_question_words: int = 1
    # answer_unsupported
    answer_min_supported_fraction: float = 0.8
    answer_min_sentence_support: float = 0.75
    # answers in the source's own words (meshdistill.quality.quoting)
    answer_quotes_source: bool = True
    answer_quote_max_sentences: int = 2
    # sentences a quote leaves out: how the study was done, not what it found
    method_sections: tuple[str, ...] = ("methods", "method", "design", "setting", "participants")
    method_phrases: tuple[str, ...] = (
        "we enrolled",
        "we studied",
        "we followed",
        "we analysed",
        "we analyzed",
        "we reviewed",
        "we randomly assigned",
        "we randomised",
        "we randomized",
        "we recruited",
        "we conducted",
        "we evaluated",
        "we collected",
        "we compared",
        "we assessed",
        "we measured",
        "we examined",
        "we performed",
        "we included",
        "we identified",
        "we investigated",
        "we prospectively",
        "we retrospectively",
        "were randomly assigned",
        "were assigned",
        "was adjudicated",
        "were adjudicated",
        "was scored",
        "were scored",
        "was ascertained",
        "were ascertained",
        "was derived",
        "were recorded",
        "were obtained",
    )
    # ... and why the study was done: the question it set out to answer, not its finding
    background_sections: tuple[str, ...] = (
        "background",
        "introduction",
        "context",
        "objective",
        "objectives",
        "aim",
        "aims",
        "purpose",
    )
    background_phrases: tuple[str, ...] = (
        "remains unclear",
        "remains uncertain",
        "remains unknown",
        "remains poorly",
        "is still debated",
        "is unknown",
        "are unknown",
        "is unclear",
        "little is known",
        "is poorly known",
        "we aimed",
        "we sought",
    )
    # question_repeats_word: a content word named more often than this, once in a phrase the
    # source never uses ("a kidney outcome on renal outcomes"), marks a question garbled
    question_max_word_uses: int = 1
    # question_too_vague: "What is the plasma tau test?" asks what a thing is (an opening here and
    # none of relation_words after it), not what the study found about it
    definition_openings: tuple[str, ...] = ("what is", "what are", "what was", "what were")
    relation_words: tuple[str, ...] = (
        "of",
        "on",
        "in",
        "for",
        "with",
        "between",
        "after",
        "before",
        "among",
        "to",
        "by",
        "during",
        "from",
        "than",
        "versus",
        "vs",
        "when",
        "if",
    )
    # answer_lacks_figure: a question opening so asks for a figure ("How many ...?")
    quantity_openings: tuple[str, ...] = (
        "how many",
        "how much",
        "how long",
        "how often",
        "how large",
        "how common",
        "how frequent",
        "how frequently",
        "what proportion",
        "what percentage",
        "what fraction",
    )
    unlabelled_opening_is_background: bool = True
    # answerer.method extract: question words (question_vocabulary aside) the answer must hold
    extract_min_question_words: int = 1
    # ... and how much a question word of the source's title counts against one it lacks
    extract_title_word_weight: float = 0.5
    answer_numbers_in_evidence: bool = True
    # answer_reverses_source: the two directions a figure can be stated in
    rising_words: tuple[str, ...] = (
        "increase",
        "increased",
        "increases",
        "increasing",
        "higher",
        "highest",
        "larger",
        "largest",
        "greater",
        "greatest",
        "more",
        "rose",
        "raised",
        "elevated",
        "longer",
        "longest",
        "excess",
    )
    falling_words: tuple[str, ...] = (
        "decrease",
        "decreased",
        "decreases",
        "decreasing",
        "lower",
        "lowest",
        "smaller",
        "smallest",
        "less",
        "fewer",
        "reduce",
        "reduced",
        "reduces",
        "reduction",
        "fell",
        "shorter",
        "shortest",
        "decline",
        "declined",
    )
    # answer_too_long
    answer_max_sentences: int = 3
    # the judge's spread, reported in the dataset card
    min_judge_stdev: float = 0.05

    def __post_init__(self) -> None:
        unknown = sorted(set(self.disabled_gates) - set(GATES))
        if unknown:
            raise ConfigError(
                "quality.disabled_gates", f"unknown gate '{unknown[0]}' (gates: {list(GATES)})"
            )
        for name in _FRACTIONS:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"quality.{name}", f"must be in [0, 1], got {value!r}")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ConfigError(f"quality.{name}", "must not be negative")
        for name in _POSITIVE:
            if getattr(self, name) < 1:
                raise ConfigError(f"quality.{name}", "must be at least 1")
        if self.min_question_chars > self.max_question_chars:
            raise ConfigError(
                "quality.min_question_chars", "must not be above quality.max_question_chars"
            )

    def enabled(self, gate: str) -> bool:
        return gate not in self.disabled_gates

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], setting: str = "quality") -> QualitySettings:
        """Build from a config section, naming unknown keys (lists become tuples)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"{setting}.{unknown[0]}", f"unknown setting (known: {sorted(known)})"
            )
        values = dict(data)
        for name in _TEXT_LISTS:
            if name in values:
                value = values[name]
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    flags = (
                        []
                        if isinstance(value, str)
                        else [v for v in value if v is True or v is False]
                    )
                    hint = ""
                    if flags:
                        hint = f" ({flags[0]!r} is YAML's reading of an unquoted on, off, yes or no"
                        hint += ": quote the word)"
                    raise ConfigError(f"{setting}.{name}", f"must be a list of strings{hint}")
                values[name] = tuple(value)
        return cls(**values)
