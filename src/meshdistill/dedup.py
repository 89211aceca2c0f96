"""Near-duplicate question detection: normalised text, then MinHash over word shingles.

``datasketch``'s MinHash + LSH finds candidate pairs above a Jaccard threshold without
comparing every question with every other one, which matters once a run crosses tens of
thousands of questions. Each LSH candidate is confirmed with the MinHash Jaccard estimate,
so the threshold means what it says; identical normalised texts are always duplicates.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import MinHash

_MINHASH_SCHEME = "affine32"  # datasketch's default; named so the permutations can be shared


def normalise_question(text: str) -> str:
    """Unicode NFKC, casefolded, punctuation and symbols removed, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = [" " if unicodedata.category(char)[0] in {"P", "S"} else char for char in folded]
    return " ".join("".join(kept).split())


def word_shingles(normalised: str, size: int) -> set[str]:
    """Overlapping runs of ``size`` words; a text shorter than ``size`` is one shingle."""
    words = normalised.split()
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


class NearDuplicateFilter:
    """Remembers questions and reports when a new one nearly repeats an earlier one.

    Parameters:
        threshold: estimated Jaccard similarity of the word-shingle sets at or above which
            two questions are near-duplicates (0 < threshold <= 1).
        num_perm: MinHash permutations; more gives a tighter Jaccard estimate (the standard
            error is about ``1 / sqrt(num_perm)``) at proportional cost.
        shingle_size: words per shingle. Three words catch reordered clauses and single
            inserted words while keeping unrelated questions on one topic apart.
        seed: MinHash seed; fixed so runs are reproducible.
    """

    def __init__(
        self, threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 3, seed: int = 1
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, got {shingle_size}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        # Imported here, not with the module: datasketch brings scipy (0.5 s of CPU), and the
        # text helpers above serve every question job, which never deduplicates.
        from datasketch import MinHash, MinHashLSH

        self._minhash = MinHash
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._template = MinHash(num_perm=num_perm, seed=seed)
        self._by_text: dict[str, str] = {}
        self._signatures: dict[str, MinHash] = {}
        self._order: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def _signature(self, normalised: str) -> MinHash | None:
        shingles = word_shingles(normalised, self.shingle_size)
        if not shingles:
            return None
        signature = self._minhash(
            num_perm=self.num_perm,
            seed=self.seed,
            permutations=self._template.permutations,
            scheme=_MINHASH_SCHEME,
        )
        signature.update_batch([s.encode("utf-8") for s in sorted(shingles)])
        return signature

    def find_duplicate(self, text: str) -> str | None:
        """The key of the earliest remembered near-duplicate of ``text``, else None."""
        normalised = normalise_question(text)
        exact = self._by_text.get(normalised)
        if exact is not None:
            return exact
        signature = self._signature(normalised)
        if signature is None:
            return None
        confirmed = [
            key
            for key in self._lsh.query(signature)
            if self._signatures[key].jaccard(signature) >= self.threshold
        ]
        return min(confirmed, key=self._order.__getitem__) if confirmed else None

    def add(self, key: str, text: str) -> None:
        """Remember ``text`` under ``key`` (keys must be unique)."""
        if key in self._order:
            raise ValueError(f"key {key!r} was already added to the near-duplicate filter")
        normalised = normalise_question(text)
        self._order[key] = len(self._order)
        self._by_text.setdefault(normalised, key)
        signature = self._signature(normalised)
        if signature is not None:
            self._signatures[key] = signature
            self._lsh.insert(key, signature)

    def is_duplicate(self, key: str, text: str) -> str | None:
        """The key of the earlier near-duplicate, else None after remembering ``text``."""
        earlier = self.find_duplicate(text)
        if earlier is None:
            self.add(key, text)
        return earlier
