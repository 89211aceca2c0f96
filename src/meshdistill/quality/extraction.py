"""Answers taken from the source (``answerer.method: extract``): the finding sentence of the
abstract that holds most of what the question asks about.

A small base model cannot be trusted to answer: the bundled 270M model, asked sixteen times
whether ACE inhibitor use changed the risk of kidney failure, never once wrote an answer whose
words were its source's (it invented trial designs, fold changes and comparisons), and asked
to pick the answering sentence by number it put 40-60% on the fourth whatever the question. The
source's own sentence is then the honest answer, and which sentence is a matter of the
question's words: each word the question shares with a sentence counts by how rare it is in
the abstract, so "metformin", said once, outweighs "dementia", said throughout. Sentences
saying how or why the study was done (methods, background) are never the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from meshdistill.quality.gates import asks_for_figure
from meshdistill.quality.quoting import evidence_sentences
from meshdistill.quality.settings import QualitySettings
from meshdistill.quality.words import content_word_set, content_words


@dataclass(frozen=True)
class Extract:
    """The extracted answer and the question words it holds, or (``text`` None) why none."""

    text: str | None
    matched_words: tuple[str, ...] = ()
    problem: str = ""
    # the answer gate a missing answer counts against
    gate: str = "answer_off_question"


def extract_answer(question: str, title: str, abstract: str, settings: QualitySettings) -> Extract:
    """The finding sentence of ``abstract`` sharing at least ``extract_min_question_words`` of
    the question's content words whose shared words weigh most, and a later sentence of those
    weighing the same (a conclusion restates a result).

    A word weighs ``log(n / df)``, ``df`` of the abstract's sentences and its title (``n`` in
    all) holding it: the rarer, the more it singles out the finding asked about. A word of the
    title weighs ``extract_title_word_weight`` as much, since it names the study's topic, which
    every finding shares ("later dementia" of a study titled "... later risk of Alzheimer
    disease" asks less specifically than "metformin"), and where the question has words the
    title lacks and the abstract holds, a sentence sharing none of them is no answer."""
    sentences = evidence_sentences([abstract], settings)
    vocabulary = content_word_set(settings.question_vocabulary)
    asked = [w for w in dict.fromkeys(content_words(question)) if w not in vocabulary]
    titled = set(content_words(title))
    documents = [s.words for s in sentences] + [frozenset(titled)]
    weight = {}
    for word in asked:
        held = sum(word in words for words in documents)
        if held and any(word in s.words for s in sentences):
            factor = settings.extract_title_word_weight if word in titled else 1.0
            weight[word] = factor * math.log(len(documents) / held)
    # Where the question asks about something its title does not name, the answer must hold it.
    beyond_title = any(w not in titled for w in weight)
    # "How many ...?" is answered by a sentence stating a figure (answer_lacks_figure)
    needs_figure = settings.enabled("answer_lacks_figure") and bool(
        asks_for_figure(question, settings)
    )
    best_score, best_index = 0.0, -1
    for index, sentence in enumerate(sentences):
        if not sentence.finding or (needs_figure and not sentence.figures):
            continue
        shared = [w for w in sentence.words if w in weight]
        if len(shared) < settings.extract_min_question_words:
            continue
        if beyond_title and not any(w not in titled for w in shared):
            continue  # it shares the study's topic with the question, not what it asks
        score = sum(weight[w] for w in shared)
        if score >= best_score:
            best_score, best_index = score, index
    if best_index < 0:
        findings = sum(s.finding and (bool(s.figures) or not needs_figure) for s in sentences)
        if not findings:
            problem = (
                "the abstract states no finding with a figure, which the question asks for"
                if needs_figure
                else "the abstract states no finding (every sentence is methods or background)"
            )
        else:
            kind = "finding sentences stating a figure" if needs_figure else "finding sentences"
            problem = (
                f"none of the abstract's {findings} {kind} shares at least "
                f"{settings.extract_min_question_words} content word(s) with the question "
                "(question vocabulary aside)"
            )
            if beyond_title:
                named = ", ".join(w for w in weight if w not in titled)
                problem += f", one of them a word its title lacks ({named})"
        gate = "answer_lacks_figure" if needs_figure else "answer_off_question"
        return Extract(None, problem=problem, gate=gate)
    best = sentences[best_index]
    return Extract(best.text, tuple(w for w in asked if w in best.words))
