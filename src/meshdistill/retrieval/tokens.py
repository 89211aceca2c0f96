"""Tokenisation shared by BM25 indexing and querying.

Both sides must tokenise identically, so the rule lives in one place and its version is
part of the index fingerprint: changing the rule invalidates saved indexes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

TOKENIZER_VERSION = 1

_WORD = re.compile(r"\w\w+")


@cache
def _stopwords() -> frozenset[str]:
    # Imported when first needed: bm25s (with tqdm and scipy) costs a job that only queries an
    # index a good part of a second, and queries do not need the list (see query_terms).
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def tokenize(text: str) -> list[str]:
    """Casefolded NFKC word tokens of two or more characters, stop words removed.

    The stop list is bm25s' extended English list, which also drops question words
    ("what", "does", "which"): they say nothing about the topic of a question.

    No stemming: a stemmer would be one more native dependency for little gain on
    biomedical vocabulary, where most discriminating terms are technical nouns.
    """
    stopwords = _stopwords()
    return [token for token in _words(text) if token not in stopwords]


def query_terms(text: str) -> list[str]:
    """:func:`tokenize` without removing stop words, for looking terms up in an index built
    with :func:`tokenize`: a stop word was never indexed, so it finds nothing there, exactly
    as if it had been removed."""
    return _words(text)
