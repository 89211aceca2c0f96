"""Stage 1: the articles of one descriptor, from a local corpus or from PubMed."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.errors import MeshDistillError
from meshdistill.jsonl import write_jsonl
from meshdistill.mesh import MeshTree
from meshdistill.pubmed.corpus import CorpusReport, iter_corpus, latest_versions
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


@dataclass
class DescriptorCoverage:
    """How the usable articles of a corpus cover one descriptor (explains an empty result)."""

    indexed: int = 0  # articles with the descriptor among their headings
    as_major_topic: int = 0  # ... as a major topic
    major_flags_seen: bool = False  # whether any article marks any heading as a major topic

    def count(self, article: Article, ui: str) -> None:
        self.major_flags_seen = self.major_flags_seen or any(
            h.is_major for h in article.mesh_headings
        )
        if ui in article.heading_uis:
            self.indexed += 1
            if ui in article.major_topic_uis:
                self.as_major_topic += 1


def pick_articles(
    articles: Iterable[Article],
    ui: str,
    *,
    major_topic_only: bool,
    limit: int,
    order: str = "oldest",
    seed: int = 0,
    report: CorpusReport | None = None,
    coverage: DescriptorCoverage | None = None,
) -> list[Article]:
    """Articles about ``ui``, one per PMID (its newest version: see ``latest_versions``), the
    first ``limit`` in ``order`` (see :mod:`meshdistill.pubmed.order`)."""

    def wanted(article: Article) -> bool:
        if coverage is not None:
            coverage.count(article, ui)
        return matches_descriptor(article, ui, major_topic_only)

    newest = latest_versions(articles, report if report is not None else CorpusReport(), wanted)
    ordered = in_order(newest, lambda a: a.pmid, order, seed)
    return ordered[:limit]


def why_no_abstracts(
    ui: str,
    name: str,
    major_topic_only: bool,
    coverage: DescriptorCoverage,
    report: CorpusReport,
) -> str:
    """Why a local corpus gave no abstract for a descriptor, and which setting to change."""
    described = f"{ui} ({name})" if name else ui
    if major_topic_only and coverage.indexed and not coverage.as_major_topic:
        reason = (
            f"{coverage.indexed} articles of the corpus are indexed with {described}, "
            "but none as a major topic, and abstracts.major_topic_only is true"
        )
        if not coverage.major_flags_seen:
            reason += (
                "; the corpus marks no heading as a major topic at all (PubMedQA-style JSONL "
                "has no such flags)"
            )
        return (
            f"{reason}. Set abstracts.major_topic_only: false (for this descriptor only: "
            f"descriptors.overrides.{ui}.abstracts.major_topic_only: false)"
        )
    reason = (
        f"no usable article of the corpus is indexed with {described} ({report.read} records "
        f"read: {report.skipped_no_abstract} without abstract, {report.skipped_no_mesh} without "
        "MeSH headings"
    )
    unmapped = sum(report.unmapped_names.values())
    if unmapped:
        reason += f", {unmapped} heading names not found in the MeSH data"
    return (
        f"{reason}). Add corpus files that cover it to abstracts.local.paths, or remove it from "
        "the descriptors section"
    )


def from_local_corpus(
    paths: Sequence[str],
    fmt: str,
    ui: str,
    settings: Mapping[str, Any],
    tree: MeshTree,
    logger: logging.Logger,
    name: str = "",
) -> list[Article]:
    """The descriptor's articles from a local corpus; an empty result is explained in a warning."""
    report = CorpusReport()
    coverage = DescriptorCoverage()
    major_topic_only = bool(settings.get("major_topic_only", True))
    articles = iter_corpus(paths, fmt=fmt, name_to_ui=name_mapper(tree), report=report)
    chosen = pick_articles(
        articles,
        ui,
        major_topic_only=major_topic_only,
        limit=int(settings["max_abstracts"]),
        order=settings["order"],
        seed=int(settings["seed"]),
        report=report,
        coverage=coverage,
    )
    logger.info("corpus %s: %s", ", ".join(paths), report.to_dict())
    if not chosen:
        logger.warning(
            "no abstracts for %s: %s",
            ui,
            why_no_abstracts(ui, name, major_topic_only, coverage, report),
        )
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
    if not articles:
        logger.warning(
            "no abstracts for %s (%s): PubMed finds %d records for %s (%d fetched: %d without "
            "abstract, %d without MeSH headings). Widen the query in abstracts.entrez "
            "(query_template, date_from/date_to, languages, publication_types)",
            descriptor["ui"],
            descriptor["name"],
            report.total_hits,
            report.query,
            report.fetched,
            report.skipped_no_abstract,
            report.skipped_no_mesh,
        )
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
            local["paths"],
            local.get("format", "auto"),
            descriptor["ui"],
            settings,
            tree,
            logger,
            name=descriptor["name"],
        )
    else:
        articles = from_entrez(descriptor, settings, logger)
    count = write_jsonl(output, (a.to_dict() for a in articles), ABSTRACT_SCHEMA)
    logger.info("wrote %d abstracts for %s to %s", count, descriptor["ui"], output)
    return count
