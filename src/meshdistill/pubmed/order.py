"""Which abstracts come first (config ``abstracts.order``), when a descriptor has more than
``max_abstracts`` of them.

* ``oldest``: lowest PMID first (PMIDs are assigned as records enter PubMed).
* ``newest``: highest PMID first (from PubMed: its default "most recent" order).
* ``random``: a sample fixed by ``abstracts.seed``: PMIDs sorted by sha256 of
  ``"{seed}:{pmid}"``, so the same seed picks the same abstracts on every machine and the
  pick of one PMID does not depend on which others are present.
* ``relevance``: PubMed's own ranking for the query (Entrez only; a local corpus has none).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from meshdistill.errors import ConfigError

ORDERS = ("oldest", "newest", "random", "relevance")
LOCAL_ORDERS = ("oldest", "newest", "random")

_Item = TypeVar("_Item")


def pmid_key(pmid: str) -> tuple[int, str]:
    """Numeric order for digit strings ("9" before "10") without parsing them."""
    return len(pmid), pmid


def random_key(pmid: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{pmid}".encode()).hexdigest()


def in_order(
    items: Iterable[_Item], pmid: Callable[[_Item], str], order: str, seed: int
) -> list[_Item]:
    """``items`` sorted by their PMIDs in ``order`` (one of ``LOCAL_ORDERS``)."""
    if order == "oldest":
        return sorted(items, key=lambda item: pmid_key(pmid(item)))
    if order == "newest":
        return sorted(items, key=lambda item: pmid_key(pmid(item)), reverse=True)
    if order == "random":
        return sorted(items, key=lambda item: (random_key(pmid(item), seed), pmid_key(pmid(item))))
    raise ConfigError(
        "abstracts.order",
        f"'{order}' cannot order a list of PMIDs here (choose one of {', '.join(LOCAL_ORDERS)})",
    )


def ordered_pmids(pmids: Iterable[str], order: str, seed: int) -> list[str]:
    return in_order(pmids, lambda pmid: pmid, order, seed)
