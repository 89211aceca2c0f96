"""The corpus ingested once: an articles table (one row per PMID, newest version) and a
descriptor -> PMID index, both Parquet, built in bounded memory and read by lookup."""

from meshdistill.corpus.ingest import ingest_corpus
from meshdistill.corpus.manifest import CorpusManifest, IngestSettings
from meshdistill.corpus.reader import CorpusTable, Posting, iter_documents
from meshdistill.corpus.table_schema import ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE

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
