"""Stage 0: ingest the local corpus files once into the corpus table every abstracts job reads."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.corpus import IngestSettings, ingest_corpus
from meshdistill.mesh import MeshTree
from meshdistill.stages.abstracts import name_mapper


def run(
    *,
    paths: Sequence[str],
    fmt: str,
    ingest: Mapping[str, Any],
    mesh_source: str,
    mesh_cache: str,
    output: str,
    logger: logging.Logger,
) -> int:
    """Write ``output``/{articles,by_descriptor}.parquet and manifest.json; returns the number
    of articles (one per PMID)."""
    tree = MeshTree.load(mesh_source, cache_dir=mesh_cache)  # maps MEDLINE heading names to UIs
    started = time.perf_counter()
    manifest = ingest_corpus(
        list(paths),
        output,
        fmt=fmt,
        name_to_ui=name_mapper(tree),
        settings=IngestSettings.from_config(dict(ingest)),
    )
    logger.info(
        "ingested %d articles (%d index rows, %d descriptors) from %s into %s in %.1f s: %s",
        manifest.articles,
        manifest.postings,
        manifest.descriptors,
        ", ".join(paths),
        output,
        time.perf_counter() - started,
        manifest.report,
    )
    return manifest.articles
