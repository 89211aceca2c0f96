"""Stage 1: the articles of one descriptor, from a local corpus or from PubMed."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from meshdistill.errors import MeshDistillError
from meshdistill.jsonl import write_jsonl
from meshdistill.mesh import MeshTree
from meshdistill.pubmed.corpus import CorpusReport, iter_corpus
from meshdistill.pubmed.order import in_order
from meshdistill.records import Article

ABSTRACT_SCHEMA = "abstract_record.schema.json"


def name_mapper(tree: MeshTree) -> Callable[[str], str | None]:
    """Map a heading given by name (some corpora have no UIs) to its UI, or None if unknown."""

    def to_ui(name: str) -> str | None:
        try:
            return tree.ui_for_heading(name)
        except MeshDistillError:
            return None

    return to_ui


def matches_descriptor(article: Article, ui: str, major_topic_only: bool) -> bool:
    uis = article.major_topic_uis if major_topic_only else article.heading_uis
    return ui in uis


def pick_articles(
    articles: Iterable[Article],
    ui: str,
    *,
    major_topic_only: bool,
    limit: int,
    order: str = "oldest",
    seed: int = 0,
) -> list[Article]:
    """Articles about ``ui``, de-duplicated by PMID, the first ``limit`` in ``order``
    (see :mod:`meshdistill.pubmed.order`)."""
    by_pmid: dict[str, Article] = {}
    for article in articles:
        if matches_descriptor(article, ui, major_topic_only):
            by_pmid.setdefault(article.pmid, article)
    ordered = in_order(by_pmid.values(), lambda a: a.pmid, order, seed)
    return ordered[:limit]


def from_local_corpus(
    paths: Sequence[str],
    fmt: str,
    ui: str,
    settings: Mapping[str, Any],
    tree: MeshTree,
    logger: logging.Logger,
) -> list[Article]:
    report = CorpusReport()
    articles = iter_corpus(paths, fmt=fmt, name_to_ui=name_mapper(tree), report=report)
    chosen = pick_articles(
        articles,
        ui,
        major_topic_only=settings.get("major_topic_only", True),
        limit=int(settings["max_abstracts"]),
        order=settings["order"],
        seed=int(settings["seed"]),
    )
    logger.info("corpus %s: %s", ", ".join(paths), report.to_dict())
    return chosen


def from_entrez(
    descriptor: Mapping[str, Any], settings: Mapping[str, Any], logger: logging.Logger
) -> list[Article]:
    from meshdistill.pubmed.entrez import EntrezClient

    entrez_cfg = dict(
        settings["entrez"],
        max_records=int(settings["max_abstracts"]),
        order=settings["order"],
        seed=int(settings["seed"]),
    )
    client = EntrezClient.from_config(entrez_cfg, os.environ, logger=logger)
    articles, report = client.fetch_descriptor(descriptor["name"], descriptor["ui"])
    logger.info("entrez: %s", report)
    if settings.get("major_topic_only", True):
        articles = [a for a in articles if descriptor["ui"] in a.major_topic_uis] or articles
    return articles[: int(settings["max_abstracts"])]


def run(
    *,
    descriptor: Mapping[str, Any],
    settings: Mapping[str, Any],
    mesh_source: str,
    mesh_cache: str,
    output: str,
    logger: logging.Logger,
) -> int:
    tree = MeshTree.load(mesh_source, cache_dir=mesh_cache)
    if settings["source"] == "local":
        local = settings["local"]
        articles = from_local_corpus(
            local["paths"], local.get("format", "auto"), descriptor["ui"], settings, tree, logger
        )
    else:
        articles = from_entrez(descriptor, settings, logger)
    if not articles:
        logger.warning(
            "no abstracts for %s (%s): its branch of the dataset will be empty",
            descriptor["ui"],
            descriptor["name"],
        )
    count = write_jsonl(output, (a.to_dict() for a in articles), ABSTRACT_SCHEMA)
    logger.info("wrote %d abstracts for %s to %s", count, descriptor["ui"], output)
    return count
