"""The corpus ingested once: an articles table (one row per PMID, newest version) and a
descriptor -> PMID index, both Parquet, built in bounded memory and read by lookup.

Names load on first use, so importing :mod:`meshdistill.corpus.layout` (as the workflow does
when it is parsed) does not import pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from meshdistill.corpus.layout import ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE

if TYPE_CHECKING:
    from meshdistill.corpus.ingest import ingest_corpus
    from meshdistill.corpus.manifest import CorpusManifest, IngestSettings
    from meshdistill.corpus.reader import CorpusTable, Posting, iter_documents

_MODULE_OF = {
    "ingest_corpus": "meshdistill.corpus.ingest",
    "CorpusManifest": "meshdistill.corpus.manifest",
    "IngestSettings": "meshdistill.corpus.manifest",
    "CorpusTable": "meshdistill.corpus.reader",
    "Posting": "meshdistill.corpus.reader",
    "iter_documents": "meshdistill.corpus.reader",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'meshdistill.corpus' has no attribute '{name}'")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


__all__ = [
    "ARTICLES_FILE",
    "INDEX_FILE",
    "MANIFEST_FILE",
    "CorpusManifest",
    "CorpusTable",
    "IngestSettings",
    "Posting",
    "ingest_corpus",
    "iter_documents",
]
