"""What a corpus table holds: counts, the read report, the settings it was built with and the
sha256 of each file, written next to the tables as ``manifest.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meshdistill.errors import InputError
from meshdistill.fileio import atomic_write_text
from meshdistill.pubmed.corpus import CorpusReport


@dataclass(frozen=True)
class IngestSettings:
    """How an ingest sizes its work; none of these change what the table holds, only how it is
    laid out (row groups) and how much memory the build takes."""

    batch_rows: int = 10_000  # articles sorted in memory at once; rows per articles row group
    index_batch_rows: int = 200_000  # index rows sorted in memory at once; rows per row group
    merge_read_rows: int = 64  # rows each sorted run holds in memory while runs are merged
    merge_fan_in: int = 64  # sorted runs merged at once

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> IngestSettings:
        return cls(**{key: int(section[key]) for key in asdict(cls()) if key in section})


@dataclass(frozen=True)
class CorpusManifest:
    articles: int  # rows of the articles table: one per PMID
    postings: int  # rows of the descriptor index: one per (descriptor, PMID)
    descriptors: int  # distinct descriptors in the index
    major_flags_seen: bool  # whether any article marks any heading as a major topic
    report: dict[str, Any]  # CorpusReport.to_dict() of the read
    sha256: dict[str, str]  # file name -> sha256 of its bytes
    settings: dict[str, int] = field(default_factory=dict)

    def corpus_report(self) -> CorpusReport:
        return CorpusReport.from_dict(self.report)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: str | Path) -> None:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        atomic_write_text(path, text + "\n")

    @classmethod
    def read(cls, path: str | Path) -> CorpusManifest:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise InputError(
                str(path), "missing: build the corpus table first (the workflow's corpus rule)"
            ) from None
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                str(path), f"not a corpus manifest ({exc}); delete the corpus folder and rebuild"
            ) from None
