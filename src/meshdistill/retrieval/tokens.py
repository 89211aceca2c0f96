"""Tokenisation shared by BM25 indexing and querying.

Both sides must tokenise identically, so the rule lives in one place and its version is
part of the index fingerprint: changing the rule invalidates saved indexes.
"""

from __future__ import annotations

import re
import unicodedata

from bm25s.stopwords import STOPWORDS_EN_PLUS

TOKENIZER_VERSION = 1

_WORD = re.compile(r"\w\w+")
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)


def tokenize(text: str) -> list[str]:
    """Casefolded NFKC word tokens of two or more characters, stop words removed.

    The stop list is bm25s' extended English list, which also drops question words
    ("what", "does", "which"): they say nothing about the topic of a question.

    No stemming: a stemmer would be one more native dependency for little gain on
    biomedical vocabulary, where most discriminating terms are technical nouns.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [token for token in _WORD.findall(folded) if token not in _STOPWORDS]
