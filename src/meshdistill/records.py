"""The article record shared by every corpus reader, the Entrez client and the workflow.

One record per PubMed article. Serialised as one JSON object per line (JSONL); the
authoritative shape is ``schemas/article.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Qualifier:
    ui: str | None
    name: str
    major_topic: bool = False


@dataclass(frozen=True)
class MeshHeading:
    ui: str | None  # None only before name->UI mapping for corpora that give names only
    name: str
    major_topic: bool = False
    qualifiers: tuple[Qualifier, ...] = ()

    @property
    def is_major(self) -> bool:
        """A heading is a major topic when it or any of its qualifiers is starred."""
        return self.major_topic or any(q.major_topic for q in self.qualifiers)


@dataclass(frozen=True)
class AbstractSection:
    label: str | None
    text: str


@dataclass
class Article:
    pmid: str
    title: str
    abstract_sections: list[AbstractSection]
    mesh_headings: list[MeshHeading]
    year: int | None = None
    journal: str | None = None
    publication_types: list[str] = field(default_factory=list)
    language: str | None = None
    # When the source last revised the record (YYYYMMDD; PubMed XML DateRevised, MEDLINE LR).
    # It only decides which of two versions of a PMID is newer: not serialised, not compared.
    revised: str | None = field(default=None, compare=False)

    @property
    def abstract(self) -> str:
        """Plain abstract text; structured sections keep their labels as 'LABEL: text'."""
        parts = []
        for section in self.abstract_sections:
            text = section.text
            parts.append(f"{section.label}: {text}" if section.label else text)
        return "\n".join(parts)

    @property
    def heading_uis(self) -> list[str]:
        return [h.ui for h in self.mesh_headings if h.ui]

    @property
    def major_topic_uis(self) -> list[str]:
        return [h.ui for h in self.mesh_headings if h.ui and h.is_major]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pmid": self.pmid,
            "title": self.title,
            "abstract": self.abstract,
            "abstract_sections": [
                {"label": s.label, "text": s.text} for s in self.abstract_sections
            ],
            "mesh_headings": [
                {
                    "ui": h.ui,
                    "name": h.name,
                    "major_topic": h.major_topic,
                    "qualifiers": [
                        {"ui": q.ui, "name": q.name, "major_topic": q.major_topic}
                        for q in h.qualifiers
                    ],
                }
                for h in self.mesh_headings
            ],
            "year": self.year,
            "journal": self.journal,
            "publication_types": list(self.publication_types),
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        sections = data.get("abstract_sections")
        if sections is None:
            text = data.get("abstract") or ""
            sections = [{"label": None, "text": text}] if text else []
        return cls(
            pmid=str(data["pmid"]),
            title=data.get("title") or "",
            abstract_sections=[AbstractSection(s.get("label"), s["text"]) for s in sections],
            mesh_headings=[
                MeshHeading(
                    ui=h.get("ui"),
                    name=h.get("name") or "",
                    major_topic=bool(h.get("major_topic", False)),
                    qualifiers=tuple(
                        Qualifier(
                            q.get("ui"), q.get("name") or "", bool(q.get("major_topic", False))
                        )
                        for q in h.get("qualifiers") or []
                    ),
                )
                for h in data.get("mesh_headings") or []
            ],
            year=data.get("year"),
            journal=data.get("journal"),
            publication_types=list(data.get("publication_types") or []),
            language=data.get("language"),
        )
