"""Answers in the source's own words: each answer sentence replaced by the evidence sentence it
rewords (``quality.answer_quotes_source``).

A small model answering from an abstract mostly copies one of its sentences, and where it
rewords, it is where it goes wrong: "The sensitivity of mammography was 88% and the
specificity of magnetic resonance imaging was 74%" for a source saying that *magnetic
resonance imaging* showed 88% and 74%. The model's choice of sentence is its answer; the
sentence itself is better taken from the source. A sentence that rewords no single sentence
closely enough (``quality.answer_min_sentence_support`` of its words and figures) is not a
quote of anything, and the answer fails ``answer_unsupported``. Sentences saying how the study
was done ("We enrolled 268 patients ...") or why ("The clinical cost of early discontinuation
remains poorly quantified.") answer no question about its findings: they are left out of the
quote, and a reply quoting nothing else fails too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from meshdistill.quality.gates import ends_a_sentence, numbers, sentences
from meshdistill.quality.settings import QualitySettings
from meshdistill.quality.words import content_words, words

# A structured abstract's section label at the start of a sentence ("RESULTS: By the third...").
_SECTION_LABEL = re.compile(r"^[A-Z][A-Z &/-]+:\s+")
SHOWN_CHARS = 60


@dataclass(frozen=True)
class _EvidenceSentence:
    text: str
    words: frozenset[str]
    figures: frozenset[str]
    # says how the study was done ("We enrolled 268 patients ..."), not what it found
    method: bool
    # says why it was done ("... remains poorly quantified."): the open question, not the finding
    background: bool = False

    @property
    def finding(self) -> bool:
        return not (self.method or self.background)


@dataclass(frozen=True)
class Quote:
    """The quoted answer, or (``text`` None) why the answer could not be quoted."""

    text: str | None
    problem: str = ""


def _terms(sentence: str) -> tuple[list[str], list[str]]:
    """The content words (figures aside) and the figures of ``sentence``, each once."""
    stated = [w for w in dict.fromkeys(content_words(sentence)) if not w.isdigit()]
    return stated, list(dict.fromkeys(numbers(sentence)))


def _marked(sentence: str, section: str, sections: Sequence[str], phrases: Sequence[str]) -> bool:
    """Under one of ``sections`` (a structured abstract's label) or saying one of ``phrases``."""
    if section.casefold() in sections:
        return True
    said = f" {' '.join(words(sentence))} "
    return any(f" {' '.join(words(phrase))} " in said for phrase in phrases)


def evidence_sentences(
    evidence: Sequence[str], settings: QualitySettings
) -> list[_EvidenceSentence]:
    """The whole sentences of ``evidence`` (a title, which ends without a full stop, is none),
    each marked where it describes the methods or the background (its section label, or a phrase
    such as "we enrolled" or "remains unclear")."""
    found = []
    for text in evidence:
        section = ""
        parts = sentences(" ".join(text.split()))
        labelled = any(_SECTION_LABEL.match(sentence) for sentence in parts)
        for position, sentence in enumerate(parts):
            label = _SECTION_LABEL.match(sentence)
            if label:
                section = label.group(0).strip().rstrip(":").strip()
            if not ends_a_sentence(sentence):
                continue
            clean = sentence[label.end() :] if label else sentence
            stated, figures = _terms(clean)
            method = _marked(clean, section, settings.method_sections, settings.method_phrases)
            # an abstract without section labels opens with its background
            opening = not labelled and position == 0 and settings.unlabelled_opening_is_background
            background = not method and (
                opening
                or _marked(
                    clean, section, settings.background_sections, settings.background_phrases
                )
            )
            found.append(
                _EvidenceSentence(clean, frozenset(stated), frozenset(figures), method, background)
            )
    return found


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "\u2026"


def _share(stated: Sequence[str], figures: Sequence[str], *held: _EvidenceSentence) -> float:
    words = sum(any(w in h.words for h in held) for w in stated)
    found = sum(any(f in h.figures for h in held) for f in figures)
    return (words + found) / (len(stated) + len(figures))


def _closest(
    sentence: str, candidates: Sequence[_EvidenceSentence], settings: QualitySettings
) -> tuple[list[_EvidenceSentence], float]:
    """The evidence sentence holding most of ``sentence``'s words and figures, and the share it
    holds; the first wins ties. A sentence stating figures may be quoted as the sentence stating
    them and one more (a result joined to its conclusion), where allowed and needed."""
    stated, figures = _terms(sentence)
    best: list[_EvidenceSentence] = []
    best_share = 0.0
    for candidate in candidates:
        share = _share(stated, figures, candidate)
        if share > best_share:
            best, best_share = [candidate], share
    if (
        best_share >= settings.answer_min_sentence_support
        or settings.answer_quote_max_sentences < 2
    ):
        return best, best_share
    for i, first in enumerate(candidates):
        for second in candidates[i + 1 :]:
            share = _share(stated, figures, first, second)
            if share > best_share:
                best, best_share = [first, second], share
    return best, best_share


def quote_sources(answer: str, evidence: Sequence[str], settings: QualitySettings) -> Quote:
    """``answer`` with each sentence replaced by the evidence sentence (or two) holding most of
    its words and figures (each quoted once, in the answer's order), or why it cannot be."""
    candidates = evidence_sentences(evidence, settings)
    quoted: list[str] = []
    left_out: list[str] = []
    for sentence in sentences(answer):
        stated, figures = _terms(sentence)
        if not stated and not figures:
            continue
        best, share = _closest(sentence, candidates, settings)
        if not best or share < settings.answer_min_sentence_support:
            return Quote(
                None,
                f"its sentence '{_short(sentence)}' rewords no sentence of the abstract or "
                f"retrieved context (the closest hold {share:.0%} of its words and figures, at "
                f"least {settings.answer_min_sentence_support:.0%} needed)",
            )
        for chosen in best:
            if not chosen.finding:
                left_out.append(chosen.text)
            elif chosen.text not in quoted:
                quoted.append(chosen.text)
    if not quoted and left_out:
        return Quote(
            None,
            f"it quotes only how or why the study was done ('{_short(left_out[0])}'), not what "
            "it found",
        )
    if not quoted:
        return Quote(None, "the answer has no words to quote")
    return Quote(" ".join(quoted))
