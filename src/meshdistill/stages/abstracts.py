"""Stage 1: the articles of one descriptor, from a local corpus or from PubMed."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshdistill.errors import ConfigError, MeshDistillError
from meshdistill.jsonl import write_jsonl
from meshdistill.mesh import MeshTree
from meshdistill.pubmed.corpus import CorpusReport, latest_versions
from meshdistill.pubmed.order import in_order, ordered_pmids
from meshdistill.records import Article

if TYPE_CHECKING:  # pyarrow (under meshdistill.corpus) is imported only by local-corpus runs
    from meshdistill.corpus import CorpusTable

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


def from_corpus_table(
    corpus: CorpusTable,
    ui: str,
    settings: Mapping[str, Any],
    logger: logging.Logger,
    name: str = "",
) -> list[Article]:
    """The descriptor's articles from an ingested corpus (see :mod:`meshdistill.corpus`): its
    index rows, ordered by PMID, then only the chosen articles, so the cost does not grow with
    the corpus. An empty result is explained in a warning."""
    major_topic_only = bool(settings.get("major_topic_only", True))
    postings = corpus.postings(ui)
    coverage = DescriptorCoverage(
        indexed=len(postings),
        as_major_topic=sum(posting.major for posting in postings),
        major_flags_seen=corpus.manifest.major_flags_seen,
    )
    pmids = [p.pmid for p in postings if p.major or not major_topic_only]
    chosen = ordered_pmids(pmids, settings["order"], int(settings["seed"]))
    articles = corpus.articles(chosen[: int(settings["max_abstracts"])])
    report = corpus.manifest.corpus_report()
    logger.info("corpus %s: %s", corpus.folder, report.to_dict())
    if not articles:
        logger.warning(
            "no abstracts for %s: %s",
            ui,
            why_no_abstracts(ui, name, major_topic_only, coverage, report),
        )
    return articles


def from_local_corpus(
    paths: Sequence[str],
    fmt: str,
    ui: str,
    settings: Mapping[str, Any],
    tree: MeshTree,
    logger: logging.Logger,
    name: str = "",
) -> list[Article]:
    """The descriptor's articles straight from corpus files: ingested into a scratch table and
    read as the workflow reads its corpus table (one code path, one newest-version rule)."""
    from meshdistill.corpus import CorpusTable, ingest_corpus

    with tempfile.TemporaryDirectory(prefix="meshdistill-corpus-") as folder:
        ingest_corpus(paths, folder, fmt=fmt, name_to_ui=name_mapper(tree))
        return from_corpus_table(CorpusTable(folder), ui, settings, logger, name=name)


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
    corpus: str | None,
    output: str,
    logger: logging.Logger,
) -> int:
    """Write the descriptor's abstracts; ``corpus`` is the ingested corpus folder (source local)."""
    if settings["source"] == "local":
        from meshdistill.corpus import CorpusTable

        if corpus is None:
            raise ConfigError("abstracts.source", "'local' needs the ingested corpus folder")
        articles = from_corpus_table(
            CorpusTable(corpus), descriptor["ui"], settings, logger, name=descriptor["name"]
        )
    else:
        articles = from_entrez(descriptor, settings, logger)
    count = write_jsonl(output, (a.to_dict() for a in articles), ABSTRACT_SCHEMA)
    logger.info("wrote %d abstracts for %s to %s", count, descriptor["ui"], output)
    return count
