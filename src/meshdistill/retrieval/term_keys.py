"""Fixed-width keys for index terms, so a vocabulary is two sorted integer arrays on disk
instead of a dictionary of strings that every job would have to rebuild.

A term's key is the first 8 bytes of its BLAKE2b-128 digest and its check the other 8: the
index is sorted by key and looked up by binary search; the check tells a term apart from a
different term that happens to share its key (one chance in 2**64 per pair), which the builder
refuses and a query treats as an unknown term.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

KEY_DTYPE = np.dtype("<u8")


def term_keys(terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The key and the check of every term, in the order given."""
    digests = b"".join(
        hashlib.blake2b(term.encode("utf-8"), digest_size=16).digest() for term in terms
    )
    halves = np.frombuffer(digests, dtype=KEY_DTYPE).reshape(len(terms), 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


def lookup_terms(keys: np.ndarray, checks: np.ndarray, terms: Sequence[str]) -> list[int | None]:
    """The row of each term in a vocabulary sorted by key (``keys`` may be memory-mapped);
    None for a term the vocabulary does not hold."""
    if not terms or len(keys) == 0:
        return [None] * len(terms)
    wanted, wanted_checks = term_keys(terms)
    rows = np.searchsorted(keys, wanted)
    found: list[int | None] = []
    for row, key, check in zip(rows.tolist(), wanted.tolist(), wanted_checks.tolist(), strict=True):
        hit = row < len(keys) and int(keys[row]) == key and int(checks[row]) == check
        found.append(row if hit else None)
    return found
