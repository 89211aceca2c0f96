"""Words, content words and word n-grams, as the quality gates compare texts.

Two kinds of word list:

* ``words``: every lowercase alphanumeric token, in order (for echoes, loops and copies,
  where function words matter: "the answer is yes" loops even though it says little).
* ``content_words``: the same tokens without stop words and lightly normalised, so that
  "tumours" in an answer counts as "tumor" in the abstract (for topic and grounding).

The normalisation is deliberately light (no stemmer): British/American spellings folded
("ae"/"oe" to "e", a final "our" to "or") and a plural "s" removed. Both sides of every
comparison go through the same function, so an over-eager fold cannot make texts differ.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import TypeVar

# Function words, question words and auxiliaries: they say nothing about what a question
# or an answer is about. Written for this project; kept short on purpose (biomedical words
# such as "patients" or "risk" are content).
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each either few for from further had has have having he her here hers him his how i if
    in into is it its itself just may me might more most much must my neither no nor not
    now of off on once only or other our ours out over own per same shall she should so
    some such than that the their theirs them then there these they this those through
    thus to too under until up upon us very via was we were what when where whether which
    while who whom whose why will with within without would yes you your
    """.split()
)

_Item = TypeVar("_Item", bound=Hashable)

_TOKEN = re.compile(r"[^\W_]+")
# A plural "s" is stripped from words longer than this (so "is", "gas", "mass" keep theirs).
_MIN_PLURAL_LENGTH = 3


def words(text: str) -> list[str]:
    """Lowercase alphanumeric tokens of ``text`` (Unicode NFKC, casefolded), in order."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _TOKEN.findall(folded)


def _fold(word: str) -> str:
    word = word.replace("ae", "e").replace("oe", "e")
    if word.endswith("our") and len(word) > len("our") + 1:
        word = word[: -len("our")] + "or"
    if len(word) > _MIN_PLURAL_LENGTH and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def is_content_word(word: str) -> bool:
    """Not a stop word, and either two or more characters or a number ("2" in "type 2")."""
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


def content_words(text: str) -> list[str]:
    """The normalised content words of ``text``, in order (repeats kept)."""
    return [_fold(w) for w in words(text) if is_content_word(w)]


def content_word_slots(text: str) -> list[str | None]:
    """Every token of ``text`` in order: its normalised form where it is a content word, None
    where a stop word stands (so neighbours in the list are neighbours in the text)."""
    return [_fold(w) if is_content_word(w) else None for w in words(text)]


def content_bigrams(text: str) -> set[tuple[str, str]]:
    """Pairs of normalised content words standing next to each other in ``text``."""
    slots = content_word_slots(text)
    return {(a, b) for a, b in zip(slots, slots[1:], strict=False) if a and b}


def content_word_set(texts: Iterable[str]) -> set[str]:
    """Every normalised content word of any of ``texts``."""
    found: set[str] = set()
    for text in texts:
        found.update(content_words(text))
    return found


def ngrams(tokens: Sequence[str], size: int) -> list[tuple[str, ...]]:
    """Consecutive runs of ``size`` tokens, in order (none when there are fewer tokens)."""
    return [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def jaccard(left: AbstractSet[_Item], right: AbstractSet[_Item]) -> float:
    """|intersection| / |union|; two empty sets count as identical (1.0)."""
    union = left | right
    if not union:
        return 1.0
    return len(left & right) / len(union)
