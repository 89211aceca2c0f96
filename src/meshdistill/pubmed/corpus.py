"""Read local corpora (PubMed XML, MEDLINE text, JSONL, Parquet) into one record stream.

Every source goes through the same steps: parse, map heading names to UIs where a source gives
names only, then skip (and count) records without abstract or MeSH headings. The counts live in
a :class:`CorpusReport` that the workflow writes next to its output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError, InputError
from meshdistill.pubmed.filtering import NameToUi, SkipReason, map_heading_names, skip_reason
from meshdistill.pubmed.medline import iter_medline
from meshdistill.pubmed.records_io import iter_jsonl, iter_parquet
from meshdistill.pubmed.xml import iter_pubmed_xml
from meshdistill.records import Article

FORMATS = ("pubmed_xml", "medline", "jsonl", "parquet")

# Suffix -> format, checked longest first so ".xml.gz" wins over ".gz".
_SUFFIX_FORMATS: tuple[tuple[str, str], ...] = (
    (".xml.gz", "pubmed_xml"),
    (".xml", "pubmed_xml"),
    (".medline.gz", "medline"),
    (".nbib.gz", "medline"),
    (".txt.gz", "medline"),
    (".medline", "medline"),
    (".nbib", "medline"),
    (".txt", "medline"),
    (".jsonl.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".parquet", "parquet"),
)

_READERS: dict[str, Callable[[Path], Iterator[Article]]] = {
    "pubmed_xml": iter_pubmed_xml,
    "medline": iter_medline,
    "jsonl": iter_jsonl,
    "parquet": iter_parquet,
}


@dataclass
class CorpusReport:
    """What happened to the records of a corpus read; all counts are records, not files."""

    read: int = 0
    kept: int = 0
    skipped_no_abstract: int = 0
    skipped_no_mesh: int = 0
    unmapped_names: Counter[str] = field(default_factory=Counter)
    mapped_headings: int = 0
    duplicates_replaced: int = 0
    files: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorpusReport:
        """The report :meth:`to_dict` wrote (as kept in a corpus table's manifest)."""
        return cls(
            read=int(data["read"]),
            kept=int(data["kept"]),
            skipped_no_abstract=int(data["skipped_no_abstract"]),
            skipped_no_mesh=int(data["skipped_no_mesh"]),
            unmapped_names=Counter(dict(data["unmapped_heading_names"])),
            mapped_headings=int(data["mapped_headings"]),
            duplicates_replaced=int(data["duplicates_replaced"]),
            files=list(data["files"]),
        )

    @property
    def skipped(self) -> int:
        return self.skipped_no_abstract + self.skipped_no_mesh

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; unmapped names sorted by count then name for stable output."""
        unmapped = sorted(self.unmapped_names.items(), key=lambda item: (-item[1], item[0]))
        return {
            "read": self.read,
            "kept": self.kept,
            "skipped_no_abstract": self.skipped_no_abstract,
            "skipped_no_mesh": self.skipped_no_mesh,
            "mapped_headings": self.mapped_headings,
            "duplicates_replaced": self.duplicates_replaced,
            "unmapped_heading_names": {name: count for name, count in unmapped},
            "unmapped_heading_total": sum(self.unmapped_names.values()),
            "files": list(self.files),
        }


def detect_format(path: str | Path) -> str:
    """The corpus format implied by a file name; raises InputError for an unknown suffix."""
    name = Path(path).name.lower()
    for suffix, fmt in _SUFFIX_FORMATS:
        if name.endswith(suffix):
            return fmt
    known = ", ".join(suffix for suffix, _ in _SUFFIX_FORMATS)
    raise InputError(str(path), f"cannot tell the corpus format from the name (known: {known})")


def _reader_for(path: Path, fmt: str) -> Callable[[Path], Iterator[Article]]:
    if fmt == "auto":
        return _READERS[detect_format(path)]
    if fmt not in _READERS:
        raise ConfigError("corpus format", f"'{fmt}' is not one of auto, {', '.join(FORMATS)}")
    return _READERS[fmt]


def iter_corpus(
    paths: Sequence[str | Path],
    fmt: str = "auto",
    name_to_ui: NameToUi | None = None,
    report: CorpusReport | None = None,
) -> Iterator[Article]:
    """Stream the usable articles of ``paths`` in file order, then record order.

    ``fmt`` is ``auto`` (by suffix: .xml/.xml.gz, .txt/.medline/.nbib, .jsonl, .parquet) or one
    of :data:`FORMATS` for every file. Headings without a UI are mapped with ``name_to_ui``
    (names it cannot map are counted in ``report.unmapped_names`` and the heading dropped).
    Records without abstract text or without any mapped heading are skipped and counted
    (names are only mapped, and unmapped ones counted, for records that have an abstract).
    Duplicate PMIDs are not removed here (that needs memory); :func:`latest_versions` does it.
    """
    report = report if report is not None else CorpusReport()
    if isinstance(paths, str | Path):
        paths = [paths]
    readers = [(Path(p), _reader_for(Path(p), fmt)) for p in paths]  # fail on format up front
    for path, reader in readers:
        report.files.append(str(path))
        for article in reader(path):
            report.read += 1
            # Abstract first: names of records skipped anyway should not count as unmapped.
            if skip_reason(article) is SkipReason.NO_ABSTRACT:
                report.skipped_no_abstract += 1
                continue
            missing_ui = sum(1 for h in article.mesh_headings if not h.ui)
            if missing_ui:
                unmapped_before = sum(report.unmapped_names.values())
                article = map_heading_names(article, name_to_ui, report.unmapped_names)
                newly_unmapped = sum(report.unmapped_names.values()) - unmapped_before
                report.mapped_headings += missing_ui - newly_unmapped
            if skip_reason(article) is SkipReason.NO_MESH:
                report.skipped_no_mesh += 1
                continue
            report.kept += 1
            yield article


def replaces(revised: str | None, known_revised: str | None) -> bool:
    """Whether a version of a PMID met later in the input replaces the one kept so far: yes,
    unless both carry a revision date and the later-met one's is older."""
    return revised is None or known_revised is None or revised >= known_revised


def latest_versions(
    articles: Iterable[Article],
    report: CorpusReport,
    wanted: Callable[[Article], bool] | None = None,
) -> list[Article]:
    """One record per PMID: its newest version.

    This is how PubMed's own files are meant to be read: update files follow the baseline and
    each other in order, and a record in a later file replaces the earlier one. Where both
    versions carry a revision date (PubMed XML DateRevised, MEDLINE LR) the later date wins
    whatever the file order; otherwise the one that comes later wins. Replaced versions are
    counted in ``report.duplicates_replaced``.

    With ``wanted``, only the newest versions it accepts are kept, and only PMIDs that ever had
    a wanted version are remembered, so memory follows the selection rather than the corpus: a
    PMID whose newest version is not wanted is dropped even if an older one was, and only
    duplicates of such PMIDs are counted. A replacing version keeps the position of the first.
    """
    kept: dict[str, Article] = {}
    newest_revision: dict[str, str | None] = {}  # PMIDs that ever had a wanted version
    for article in articles:
        pmid = article.pmid
        if pmid in newest_revision:
            report.duplicates_replaced += 1
            if not replaces(article.revised, newest_revision[pmid]):
                continue  # an older version listed after a newer one: the newer stays
        if wanted is None or wanted(article):
            kept[pmid] = article
            newest_revision[pmid] = article.revised
        elif pmid in newest_revision:
            kept.pop(pmid, None)
            newest_revision[pmid] = article.revised
    return list(kept.values())


def load_corpus(
    paths: Sequence[str | Path],
    fmt: str = "auto",
    name_to_ui: NameToUi | None = None,
) -> tuple[list[Article], CorpusReport]:
    """Read a whole corpus into memory, keeping the newest version of each PMID (see
    :func:`latest_versions`)."""
    report = CorpusReport()
    articles = latest_versions(
        iter_corpus(paths, fmt=fmt, name_to_ui=name_to_ui, report=report), report
    )
    report.kept = len(articles)
    return articles, report
