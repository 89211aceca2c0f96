"""Quality gates: is a generated question or answer fit to go into the dataset?

Each gate is a pure function of the text, its sources and :class:`QualitySettings`; a
failed gate gives a :class:`Verdict` whose ``gate`` is the drop reason. The verdict
functions apply the enabled gates in a fixed order and report the first that fails:

Questions (``question_verdict``):

1. ``question_scaffolding``: echoes the prompt: a label such as ``Title:``, a brace or
   bracket, a run of the instruction's words, or a reference to "the abstract".
2. ``question_copies_example``: repeats, or nearly repeats, one of the prompt's worked
   examples (word 3-shingle Jaccard).
3. ``question_copies_title``: is its source's title with a question word in front ("Is
   adjuvant tamoxifen persistence and five-year recurrence in breast cancer?").
4. ``question_not_single``: not exactly one well-formed question on one line.
5. ``question_not_standalone``: points at something it never names ("What is the rationale
   for implementing this approach?"): a record's question is read without its abstract.
6. ``question_too_vague``: asks only what something is ("What is the plasma tau test?").
7. ``question_repeats_word``: names one content word twice, once in a phrase its source never
   uses ("... a kidney outcome on renal outcomes ..."): garbled in the writing.
8. ``question_off_topic``: shares too few content words with its title and abstract, or
   asks about several things they never mention ("length of hospital stay" of a study of
   door-to-balloon time; question vocabulary such as "effect" or "associated" aside), or
   asks for a judgement ("the best test") they never make.

Answers (``answer_verdict``):

1. ``answer_empty``; 2. ``answer_loops``: repeated word n-grams or a long run of one
   character (before truncation: a looping reply usually also runs into the token limit);
3. ``answer_truncated``: cut by the token limit or not ending a sentence;
4. ``answer_too_long``: more sentences than allowed; 5. ``answer_restates_question``: adds
   too few content words to the question; 6. ``answer_off_question``: shares too few content
   words with its question to be about it; 7. ``answer_reverses_source``: states a figure of
   its source in the opposite direction ("smaller infarcts (median 19% versus 13%)" where
   the sentence with 19% and 13% says "larger"); 8. ``answer_unsupported``: too few of its
   content words occur in the abstract and retrieved context, one of its sentences is
   pieced together from several of theirs, or it states a figure the evidence does not hold.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meshdistill.dedup import normalise_question, word_shingles
from meshdistill.quality.settings import QualitySettings
from meshdistill.quality.words import (
    content_bigrams,
    content_word_set,
    content_word_slots,
    content_words,
    jaccard,
    ngrams,
    words,
)

EXAMPLE_SHINGLE_WORDS = 3  # word shingles compared with the worked examples
SHOWN_WORDS = 5  # unsupported words quoted in a verdict's detail
MIN_SUPERLATIVE_BASE = 3  # "longest" counts as "long"; "best" is no superlative of "b"
# An abbreviation spelled out in brackets: "(LVMNS)", "(PCI)", "(HbA1c)".
_ABBREVIATION = re.compile(r"\(([A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*)\)")

# A sentence ends with . ! or ?, perhaps followed by closing quotes or brackets.
_CLOSERS = "\"'\u201d\u2019\u00bb)]"
_SENTENCE_END = re.compile(rf"[.!?][{re.escape(_CLOSERS)}]*$")
_ELLIPSIS_END = re.compile(rf"(\.\.\.|\u2026)[{re.escape(_CLOSERS)}]*$")
# A boundary between sentences: final punctuation (and closers), space, then a new start.
_SENTENCE_BREAK = re.compile(
    rf"(?<=[.!?])[{re.escape(_CLOSERS)}]*\s+(?=[\"'(\u201c\u2018]?[^\W_a-z])"
)
# Words ending in a full stop that do not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "approx.", "cf.", "fig.", "no.", "dr.")


@dataclass(frozen=True)
class Verdict:
    """A failed gate: ``gate`` is the drop reason, ``detail`` says why, for people."""

    gate: str
    detail: str


# -- questions ----------------------------------------------------------------------------


def _quoted(text: str, limit: int = 60) -> str:
    short = text if len(text) <= limit else text[: limit - 1] + "\u2026"
    return f"'{short}'"


def _phrase_in(phrase_words: Sequence[str], text_words: Sequence[str]) -> bool:
    size = len(phrase_words)
    if size == 0:
        return False
    target = tuple(phrase_words)
    return any(gram == target for gram in ngrams(text_words, size))


def scaffolding_problem(
    question: str,
    *,
    source: str,
    instruction_texts: Sequence[str],
    settings: QualitySettings,
) -> str | None:
    """Why ``question`` echoes its prompt rather than asking about the abstract, or None."""
    for label in settings.scaffolding_labels:
        if re.search(rf"(?<![^\W_]){re.escape(label)}\s*:", question, flags=re.IGNORECASE):
            return f"echoes prompt scaffolding '{label}:'"
    for char in settings.scaffolding_characters:
        if char in question:
            return f"echoes prompt scaffolding '{char}'"
    question_words = words(question)
    for reference in settings.meta_references:
        if _phrase_in(words(reference), question_words):
            return f"refers to its source as '{reference}' instead of asking about its content"
    size = settings.instruction_echo_words
    if size > 0:
        instruction_grams = {
            gram for text in instruction_texts for gram in ngrams(words(text), size)
        }
        source_grams = set(ngrams(words(source), size))
        for gram in ngrams(question_words, size):
            if gram in instruction_grams and gram not in source_grams:
                return f"echoes the instruction text '{' '.join(gram)}'"
    return None


def copied_example(
    question: str, example_questions: Sequence[str], settings: QualitySettings
) -> str | None:
    """The worked example that ``question`` repeats or nearly repeats, or None."""
    normalised = normalise_question(question)
    shingles = word_shingles(normalised, EXAMPLE_SHINGLE_WORDS)
    for example in example_questions:
        example_normalised = normalise_question(example)
        if normalised == example_normalised:
            return example
        example_shingles = word_shingles(example_normalised, EXAMPLE_SHINGLE_WORDS)
        if shingles and jaccard(shingles, example_shingles) >= settings.example_copy_jaccard:
            return example
    return None


def longest_shared_run(left: Sequence[str], right: Sequence[str]) -> int:
    """The length of the longest run of consecutive words that ``left`` and ``right`` share."""
    best = 0
    previous = [0] * (len(right) + 1)
    for left_word in left:
        current = [0] * (len(right) + 1)
        for j, right_word in enumerate(right, start=1):
            if left_word == right_word:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def title_copy_problem(question: str, title: str, settings: QualitySettings) -> str | None:
    """Why ``question`` is its title in question form, or None."""
    asked = words(question)
    if not asked:
        return None
    run = longest_shared_run(asked, words(title))
    if run / len(asked) < settings.title_copy_fraction:
        return None
    return f"{run} of its {len(asked)} words are one run of its title {_quoted(title)}"


def question_form_problem(question: str, settings: QualitySettings) -> str | None:
    """Why ``question`` is not exactly one well-formed question, or None."""
    text = question.strip()
    if not text:
        return "question is empty"
    if "\n" in text or "\r" in text:
        return "question spans several lines"
    if settings.require_question_mark:
        if not text.endswith("?"):
            return "question does not end with a question mark"
        if text.count("?") > 1:
            return f"text holds {text.count('?')} question marks, not one question"
    if settings.require_capital_start and not (text[0].isupper() or text[0].isdigit()):
        return "question does not start with a capital letter or a digit"
    count = len(words(text))
    if count < settings.min_question_words:
        return f"question has {count} words, fewer than {settings.min_question_words}"
    if len(text) < settings.min_question_chars:
        return f"question has {len(text)} characters, fewer than {settings.min_question_chars}"
    if len(text) > settings.max_question_chars:
        return f"question has {len(text)} characters, more than {settings.max_question_chars}"
    return None


def standalone_problem(question: str, settings: QualitySettings) -> str | None:
    """Why ``question`` cannot be read without its source ("this approach"), or None."""
    asked = words(question)
    for position, word in enumerate(asked):
        if word in settings.deictic_words:
            phrase = " ".join(asked[position : position + 2])
            return f"'{phrase}' points at something the question never names"
    return None


def opening_of(question: str, openings: Sequence[str]) -> tuple[str, list[str]] | None:
    """The first of ``openings`` ("how many") that ``question`` starts with, and the words after
    it; None when it starts with none of them."""
    asked = words(question)
    for opening in openings:
        phrase = words(opening)
        if phrase and asked[: len(phrase)] == phrase:
            return opening, asked[len(phrase) :]
    return None


def vague_problem(question: str, settings: QualitySettings) -> str | None:
    """Why ``question`` asks only what something is ("What is the plasma tau test?"), or None:
    it opens with a definition opening and relates its subject to nothing after it."""
    found = opening_of(question, settings.definition_openings)
    if found is not None and not any(word in settings.relation_words for word in found[1]):
        return "asks what something is, not what was found about it: it relates it to nothing"
    return None


def _superlative_bases(slots: Sequence[str | None]) -> dict[str, str]:
    """Superlatives whose base word the same question also uses, mapped to it ("longest" to
    "long" in "How long is the longest delay ...?", "largest" to "large")."""
    present = {w for w in slots if w}
    bases = {}
    for word in present:
        if word.endswith("est"):
            for base in (word[: -len("est")], word[: -len("st")]):
                if len(base) >= MIN_SUPERLATIVE_BASE and base in present:
                    bases[word] = base
    return bases


def repeats_problem(question: str, source: str, settings: QualitySettings) -> str | None:
    """Why ``question`` reads garbled by naming one thing twice, or None: a content word (figures
    aside; a superlative counts as its base word when the question uses both) used more than
    ``question_max_word_uses`` times, once at least in a phrase its source never uses. The small
    model's garbled questions restate a word they lost track of ("... an inhibitor and a kidney
    outcome on renal outcomes ...": the source says "kidney outcomes", never "renal outcomes";
    "How long is the longest delay ...?"); a word that each time names something the source
    names ("positron-emission tomography combined with computed tomography") is the source's
    own."""
    slots = content_word_slots(question)
    bases = _superlative_bases(slots)
    keyed = [bases.get(w, w) if w else None for w in slots]
    counts = Counter(w for w in keyed if w and not w.isdigit())
    known = content_bigrams(source)
    for word, uses in counts.items():
        if uses <= settings.question_max_word_uses:
            continue
        for position, key in enumerate(keyed):
            slot = slots[position]
            if key != word or slot is None:
                continue
            before = slots[position - 1] if position else None
            after = slots[position + 1] if position + 1 < len(slots) else None
            phrases = [(b, slot) for b in [before] if b] + [(slot, a) for a in [after] if a]
            if not any(phrase in known for phrase in phrases):
                shown = " ".join(phrases[0]) if phrases else slot
                return (
                    f"names '{word}' {uses} times (at most {settings.question_max_word_uses}), "
                    f"once as '{shown}', which its source never says: a question restating a "
                    "word has lost track of what it asks"
                )
    return None


def off_topic_problem(question: str, source: str, settings: QualitySettings) -> str | None:
    """Why ``question`` is not about ``source`` (title and abstract), or None."""
    asked = set(content_words(question))
    shared = asked & content_word_set([source])
    fraction = len(shared) / len(asked) if asked else 0.0
    if len(shared) < settings.topic_min_shared_words:
        return (
            f"shares {len(shared)} content word(s) with its title and abstract, "
            f"fewer than {settings.topic_min_shared_words}"
        )
    if fraction < settings.topic_min_shared_fraction:
        return (
            f"only {fraction:.0%} of its content words occur in its title and abstract "
            f"(at least {settings.topic_min_shared_fraction:.0%} needed)"
        )
    vocabulary = content_word_set(settings.question_vocabulary)
    unknown = [w for w in _first_unique(content_words(question)) if w not in shared | vocabulary]
    if len(unknown) > settings.topic_max_unknown_words:
        return (
            f"asks about {', '.join(unknown[:SHOWN_WORDS])}: more than "
            f"{settings.topic_max_unknown_words} content words its title and abstract never use"
        )
    source_words = set(words(source))
    for word in words(question):
        if word in settings.judgement_words and word not in source_words:
            return f"asks for the '{word}' option, which its title and abstract never discuss"
    for match in _ABBREVIATION.finditer(question):
        abbreviation = match.group(1)
        used = re.search(rf"\b{re.escape(abbreviation)}\b", source)
        if not used and not _spells(abbreviation, question[: match.start()]):
            return (
                f"coins the abbreviation '{abbreviation}', which its title and abstract never use "
                "and the words before it do not spell"
            )
    return None


def _spells(abbreviation: str, before: str) -> bool:
    """Whether ``abbreviation``'s letters are the initials of the words just before it
    ("percutaneous coronary intervention (PCI)"; "low-volume sentinel node metastasis (LVMNS)"
    is not)."""
    letters = [c.lower() for c in abbreviation.removesuffix("s") if c.isalpha()]
    initials = [w[0].lower() for w in re.findall(r"[A-Za-z0-9]+", before)]
    return bool(letters) and initials[-len(letters) :] == letters


def question_form_verdict(question: str, settings: QualitySettings) -> Verdict | None:
    """The ``question_not_single`` gate alone: it needs no source text."""
    if not settings.enabled("question_not_single"):
        return None
    problem = question_form_problem(question, settings)
    return None if problem is None else Verdict("question_not_single", problem)


def question_verdict(
    question: str,
    *,
    title: str,
    abstract: str,
    example_questions: Sequence[str],
    instruction_texts: Sequence[str],
    settings: QualitySettings,
) -> Verdict | None:
    """The first question gate that ``question`` fails, or None when it passes them all.

    ``example_questions``: the worked examples' questions in the prompt;
    ``instruction_texts``: the prompt's instructions, without its worked examples and
    without the source text (words the source shares with them are not echoes anyway).
    """
    source = f"{title}\n{abstract}"
    if settings.enabled("question_scaffolding"):
        problem = scaffolding_problem(
            question, source=source, instruction_texts=instruction_texts, settings=settings
        )
        if problem is not None:
            return Verdict("question_scaffolding", problem)
    if settings.enabled("question_copies_example"):
        example = copied_example(question, example_questions, settings)
        if example is not None:
            return Verdict(
                "question_copies_example", f"repeats the worked example {_quoted(example)}"
            )
    if settings.enabled("question_copies_title"):
        problem = title_copy_problem(question, title, settings)
        if problem is not None:
            return Verdict("question_copies_title", problem)
    form = question_form_verdict(question, settings)
    if form is not None:
        return form
    if settings.enabled("question_not_standalone"):
        problem = standalone_problem(question, settings)
        if problem is not None:
            return Verdict("question_not_standalone", problem)
    if settings.enabled("question_too_vague"):
        problem = vague_problem(question, settings)
        if problem is not None:
            return Verdict("question_too_vague", problem)
    if settings.enabled("question_repeats_word"):
        problem = repeats_problem(question, source, settings)
        if problem is not None:
            return Verdict("question_repeats_word", problem)
    if settings.enabled("question_off_topic"):
        problem = off_topic_problem(question, source, settings)
        if problem is not None:
            return Verdict("question_off_topic", problem)
    return None


# -- answers ------------------------------------------------------------------------------


def ends_a_sentence(text: str) -> bool:
    """Ends with . ! or ? (closing quotes or brackets may follow), but not with an ellipsis."""
    stripped = text.rstrip()
    return bool(_SENTENCE_END.search(stripped)) and not _ELLIPSIS_END.search(stripped)


def sentences(text: str) -> list[str]:
    """``text`` split into sentences; abbreviations such as "e.g." and decimals do not split."""
    pieces = [piece for piece in _SENTENCE_BREAK.split(text.strip()) if piece]
    merged: list[str] = []
    for piece in pieces:
        if merged and merged[-1].casefold().endswith(_ABBREVIATIONS):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def repeated_ngram_fraction(text: str, size: int) -> float:
    """Share of the word ``size``-grams of ``text`` that repeat an earlier one (0 if none)."""
    grams = ngrams(words(text), size)
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        if gram in seen:
            repeats += 1
        seen.add(gram)
    return repeats / len(grams)


def longest_character_run(text: str) -> tuple[str, int]:
    """The non-space character repeated most often in a row, and how often ("", 0 if none)."""
    best_char, best = "", 0
    current_char, current = "", 0
    for char in text:
        if char == current_char:
            current += 1
        else:
            current_char, current = char, 1
        if not char.isspace() and current > best:
            best_char, best = char, current
    return best_char, best


def loop_problem(answer: str, settings: QualitySettings) -> str | None:
    char, run = longest_character_run(answer)
    if run > settings.loop_max_char_run:
        return f"repeats {char!r} {run} times in a row (at most {settings.loop_max_char_run})"
    fraction = repeated_ngram_fraction(answer, settings.loop_ngram_words)
    if fraction > settings.loop_max_repeated_fraction:
        return (
            f"{fraction:.0%} of its {settings.loop_ngram_words}-word runs repeat an earlier one "
            f"(at most {settings.loop_max_repeated_fraction:.0%})"
        )
    return None


def restates_problem(answer: str, question: str, settings: QualitySettings) -> str | None:
    answered = set(content_words(answer))
    asked = set(content_words(question))
    new = answered - asked
    if len(new) < settings.answer_min_new_words:
        return (
            f"adds {len(new)} content word(s) beyond the question "
            f"(at least {settings.answer_min_new_words} needed)"
        )
    similarity = jaccard(answered, asked)
    if similarity >= settings.answer_max_question_jaccard:
        return (
            f"content words overlap the question's with Jaccard {similarity:.2f} "
            f"(under {settings.answer_max_question_jaccard} allowed)"
        )
    return None


def off_question_problem(answer: str, question: str, settings: QualitySettings) -> str | None:
    # "Risk" or "effect" in both says nothing: the answer must name what the question asks about.
    vocabulary = content_word_set(settings.question_vocabulary)
    shared = (set(content_words(answer)) & set(content_words(question))) - vocabulary
    if len(shared) >= settings.answer_min_question_words:
        return None
    return (
        f"shares {len(shared)} content word(s) with its question, fewer than "
        f"{settings.answer_min_question_words}: it answers something else"
    )


def _first_unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def numbers(text: str) -> list[str]:
    """The figures in ``text`` with thousands separators dropped ("1,240" -> "1240")."""
    return [match.replace(",", "") for match in _NUMBER.findall(text)]


def _figure_anchors(
    figures: set[str], evidence_sentences: Sequence[tuple[str, set[str]]]
) -> list[str]:
    """The evidence sentences stating all of ``figures``, or else those stating any of them."""
    if not figures:
        return []
    whole = [text for text, found in evidence_sentences if figures <= found]
    return whole or [text for text, found in evidence_sentences if figures & found]


def stitched_sentence_problem(
    answer: str, evidence: Sequence[str], settings: QualitySettings
) -> str | None:
    """Why a sentence of ``answer`` says what no sentence of the evidence says, or None.

    Each answer sentence should be a sentence of the source, reworded at most. Its words are
    looked up in one evidence sentence; a sentence stating figures may also draw on the
    evidence sentences stating them ("Poor glycaemic control was associated with larger
    infarcts (median 19% versus 13%)" joins the conclusion to its figures). So a figure keeps
    its subject ("Metformin ... a 1.4-fold higher risk" fails where 1.4-fold is the risk of
    diabetes), and a claim pieced from several sentences fails ("In the early insulin group,
    basal insulin produced greater weight gain").
    """
    evidence_sentences = [
        (sentence, set(numbers(sentence))) for text in evidence for sentence in sentences(text)
    ]
    sentence_words = [set(content_words(text)) for text, _ in evidence_sentences]
    for sentence in sentences(answer):
        stated = [w for w in _first_unique(content_words(sentence)) if not w.isdigit()]
        if not stated:
            continue
        anchored = content_word_set(_figure_anchors(set(numbers(sentence)), evidence_sentences))
        best = max(
            (sum(word in found or word in anchored for word in stated) for found in sentence_words),
            default=0,
        )
        support = best / len(stated)
        if support < settings.answer_min_sentence_support:
            where = "one sentence of the abstract or retrieved context"
            if anchored:
                where += " with those stating its figures"
            return (
                f"{where} holds {support:.0%} of the words of its sentence {_quoted(sentence)} "
                f"(at least {settings.answer_min_sentence_support:.0%} needed)"
            )
    return None


def unsupported_problem(
    answer: str, evidence: Sequence[str], settings: QualitySettings
) -> str | None:
    # Figures are checked whole below ("1,240" is one number, not the words "1" and "240").
    answered = [w for w in _first_unique(content_words(answer)) if not w.isdigit()]
    known = content_word_set(evidence)
    missing = [word for word in answered if word not in known]
    supported = 1 - len(missing) / len(answered) if answered else 1.0
    if supported < settings.answer_min_supported_fraction:
        shown = ", ".join(missing[:SHOWN_WORDS])
        return (
            f"only {supported:.0%} of its content words occur in the abstract or retrieved "
            f"context (at least {settings.answer_min_supported_fraction:.0%} needed; "
            f"not found: {shown})"
        )
    problem = stitched_sentence_problem(answer, evidence, settings)
    if problem is not None:
        return problem
    if settings.answer_numbers_in_evidence:
        known_numbers = {n for text in evidence for n in numbers(text)}
        invented = [n for n in _first_unique(numbers(answer)) if n not in known_numbers]
        if invented:
            return (
                f"states figures that occur in neither the abstract nor the retrieved context: "
                f"{', '.join(invented[:SHOWN_WORDS])}"
            )
    return None


def _directions(text: str, settings: QualitySettings) -> dict[str, str]:
    """Which directions ``text`` states ("rising", "falling"), each with its first word."""
    found: dict[str, str] = {}
    for word in words(text):
        if word in settings.rising_words:
            found.setdefault("rising", word)
        elif word in settings.falling_words:
            found.setdefault("falling", word)
    return found


def reversal_problem(answer: str, evidence: Sequence[str], settings: QualitySettings) -> str | None:
    """Why ``answer`` turns a finding of its source around, or None.

    A figure anchors an answer sentence to the evidence sentences stating the same figures;
    a direction the answer gives them ("smaller") that those sentences never use, while they
    use the opposite one ("larger"), reverses the finding. Figures without a direction word
    in the evidence ("6.1% versus 9.8%") leave the answer's reading of them unchecked.
    """
    evidence_sentences = [
        (sentence, set(numbers(sentence))) for text in evidence for sentence in sentences(text)
    ]
    for sentence in sentences(answer):
        figures = set(numbers(sentence))
        stated = _directions(sentence, settings)
        if not figures or not stated:
            continue
        anchors = _figure_anchors(figures, evidence_sentences)
        source: dict[str, str] = {}
        for anchor in anchors:
            for direction, word in _directions(anchor, settings).items():
                source.setdefault(direction, word)
        for direction, word in stated.items():
            if direction in source or not source:
                continue
            shown = ", ".join(sorted(figures, key=float))
            return (
                f"says '{word}' of {shown} where the source sentence stating them says "
                f"'{next(iter(source.values()))}'"
            )
    return None


def asks_for_figure(question: str, settings: QualitySettings) -> str | None:
    """The quantity opening of ``question`` ("how many"), or None."""
    found = opening_of(question, settings.quantity_openings)
    return found[0] if found is not None else None


def answer_verdict(
    answer: str,
    *,
    question: str,
    evidence: Sequence[str],
    truncated: bool,
    settings: QualitySettings,
) -> Verdict | None:
    """The first answer gate that ``answer`` fails, or None when it passes them all.

    ``evidence``: the source abstract and the retrieved context texts; ``truncated``: the
    model stopped at its token limit (``finish_reason`` "length").
    """
    text = answer.strip()
    if settings.enabled("answer_empty") and not words(text):
        return Verdict("answer_empty", "answer has no words")
    if settings.enabled("answer_loops"):
        problem = loop_problem(text, settings)
        if problem is not None:
            return Verdict("answer_loops", problem)
    if settings.enabled("answer_truncated"):
        if truncated:
            return Verdict("answer_truncated", "the model stopped at its token limit")
        if not ends_a_sentence(text):
            return Verdict("answer_truncated", f"ends mid-sentence: {_quoted(text[-40:])}")
    if settings.enabled("answer_too_long"):
        count = len(sentences(text))
        if count > settings.answer_max_sentences:
            return Verdict(
                "answer_too_long",
                f"{count} sentences, more than {settings.answer_max_sentences}",
            )
    if settings.enabled("answer_restates_question"):
        problem = restates_problem(text, question, settings)
        if problem is not None:
            return Verdict("answer_restates_question", problem)
    if settings.enabled("answer_off_question"):
        problem = off_question_problem(text, question, settings)
        if problem is not None:
            return Verdict("answer_off_question", problem)
    if settings.enabled("answer_lacks_figure"):
        opening = asks_for_figure(question, settings)
        if opening and not numbers(text):
            return Verdict(
                "answer_lacks_figure",
                f"the question asks '{opening} …' and the answer states no figure",
            )
    if settings.enabled("answer_reverses_source"):
        problem = reversal_problem(text, evidence, settings)
        if problem is not None:
            return Verdict("answer_reverses_source", problem)
    if settings.enabled("answer_unsupported"):
        problem = unsupported_problem(text, evidence, settings)
        if problem is not None:
            return Verdict("answer_unsupported", problem)
    return None
