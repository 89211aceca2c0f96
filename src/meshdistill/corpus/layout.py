"""Which ingested corpus a descriptor reads, and where the workflow keeps it.

Every descriptor reading the configured local corpus shares one table (``default``); a
descriptor whose override names other files (``descriptors.overrides.UI.abstracts.local``) gets
its own, named after it, so overrides keep working without re-reading files per job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meshdistill import settings as cfg

CORPUS_ROOT = "results/corpus"
DEFAULT_CORPUS = "default"
# The retrieval corpus (retrieval.corpus) when it is not the abstracts' corpus.
RETRIEVAL_CORPUS = "retrieval"
# The files of a corpus folder (here rather than beside the table code, so the workflow can
# name them without importing pyarrow when it is parsed).
ARTICLES_FILE = "articles.parquet"
INDEX_FILE = "by_descriptor.parquet"
MANIFEST_FILE = "manifest.json"


def _local(abstracts: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    local = abstracts["local"]
    return tuple(local["paths"]), local.get("format", "auto")


def corpus_name(config: Mapping[str, Any], ui: str) -> str | None:
    """The corpus descriptor ``ui`` reads, or None when its abstracts come from Entrez."""
    settings = cfg.section_for(config, "abstracts", ui)
    if settings["source"] != "local":
        return None
    return DEFAULT_CORPUS if _local(settings) == _local(config["abstracts"]) else ui


def corpus_names(config: Mapping[str, Any], uis: Iterable[str]) -> dict[str, str | None]:
    """:func:`corpus_name` of every UI; only descriptors with overrides are looked at one by
    one (merging settings for each of tens of thousands of descriptors costs seconds)."""
    global_source = config["abstracts"]["source"]
    default = DEFAULT_CORPUS if global_source == "local" else None
    overridden = (config.get("descriptors") or {}).get("overrides") or {}
    return {ui: corpus_name(config, ui) if ui in overridden else default for ui in uis}


def retrieval_corpus_name(config: Mapping[str, Any]) -> str | None:
    """The corpus the offline retrieval indexes are built from: the abstracts' own table when
    ``retrieval.corpus`` names the same files in the same format, else its own; None when the
    retrieval method reads no local corpus (PubMed search)."""
    from meshdistill.retrieval.methods import uses_local_corpus

    retrieval = config["retrieval"]
    if not uses_local_corpus(retrieval["method"]):
        return None
    files = (tuple(retrieval.get("corpus") or ()), retrieval.get("corpus_format", "auto"))
    abstracts = config["abstracts"]
    if abstracts["source"] == "local" and files == _local(abstracts):
        return DEFAULT_CORPUS
    return RETRIEVAL_CORPUS


def corpus_local_settings(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``abstracts.local`` settings (paths, format) that corpus ``name`` is built from
    (``retrieval.corpus`` and ``retrieval.corpus_format`` for the retrieval corpus)."""
    if name == RETRIEVAL_CORPUS:
        retrieval = config["retrieval"]
        return {
            "paths": list(retrieval.get("corpus") or []),
            "format": retrieval.get("corpus_format", "auto"),
        }
    abstracts = (
        config["abstracts"]
        if name == DEFAULT_CORPUS
        else cfg.section_for(config, "abstracts", name)
    )
    paths, fmt = _local(abstracts)
    return {"paths": list(paths), "format": fmt}


def corpus_folder(name: str) -> str:
    return f"{CORPUS_ROOT}/{name}"
