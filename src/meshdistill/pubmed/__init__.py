"""PubMed acquisition (NCBI E-utilities) and local corpora, all read into ``Article`` records."""

from meshdistill.pubmed.corpus import CorpusReport, detect_format, iter_corpus, load_corpus
from meshdistill.pubmed.entrez import (
    EntrezAuthError,
    EntrezClient,
    EntrezError,
    EntrezSettings,
    FetchReport,
)
from meshdistill.pubmed.medline import iter_medline
from meshdistill.pubmed.records_io import iter_jsonl, iter_parquet, write_jsonl, write_parquet
from meshdistill.pubmed.xml import iter_pubmed_xml

__all__ = [
    "CorpusReport",
    "EntrezAuthError",
    "EntrezClient",
    "EntrezError",
    "EntrezSettings",
    "FetchReport",
    "detect_format",
    "iter_corpus",
    "iter_jsonl",
    "iter_medline",
    "iter_parquet",
    "iter_pubmed_xml",
    "load_corpus",
    "write_jsonl",
    "write_parquet",
]
