"""The columns of the corpus table and of its descriptor index, and the row <-> Article mapping.

One row per PMID (its newest version). Besides the article's own fields the table keeps
``revised`` (so a later ingest can still tell versions apart) and ``heading_uis`` (the mapped
descriptor UIs, so readers that only need UIs skip decoding the nested headings).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from meshdistill.records import AbstractSection, Article, MeshHeading, Qualifier

_QUALIFIER = pa.struct([("ui", pa.string()), ("name", pa.string()), ("major_topic", pa.bool_())])
_HEADING = pa.struct(
    [
        ("ui", pa.string()),
        ("name", pa.string()),
        ("major_topic", pa.bool_()),
        ("qualifiers", pa.list_(_QUALIFIER)),
    ]
)
_SECTION = pa.struct([("label", pa.string()), ("text", pa.string())])

ARTICLE_SCHEMA = pa.schema(
    [
        ("pmid", pa.string()),
        ("title", pa.string()),
        ("abstract_sections", pa.list_(_SECTION)),
        ("mesh_headings", pa.list_(_HEADING)),
        ("heading_uis", pa.list_(pa.string())),
        ("year", pa.int64()),
        ("journal", pa.string()),
        ("publication_types", pa.list_(pa.string())),
        ("language", pa.string()),
        ("revised", pa.string()),
    ]
)

#: The descriptor index: one row per (descriptor, PMID), sorted by descriptor then PMID.
POSTING_SCHEMA = pa.schema(
    [("descriptor_ui", pa.string()), ("pmid", pa.string()), ("major", pa.bool_())]
)

#: Where an article stood in the input (files in configured order, records in file order):
#: it breaks ties between versions of a PMID while the table is sorted. Only in sorted runs.
ORDINAL = "ordinal"


def article_row(article: Article) -> dict[str, Any]:
    """The table row of ``article`` (keys in :data:`ARTICLE_SCHEMA` order)."""
    return {
        "pmid": article.pmid,
        "title": article.title,
        "abstract_sections": [
            {"label": section.label, "text": section.text} for section in article.abstract_sections
        ],
        "mesh_headings": [
            {
                "ui": heading.ui,
                "name": heading.name,
                "major_topic": heading.major_topic,
                "qualifiers": [
                    {"ui": q.ui, "name": q.name, "major_topic": q.major_topic}
                    for q in heading.qualifiers
                ],
            }
            for heading in article.mesh_headings
        ],
        "heading_uis": article.heading_uis,
        "year": article.year,
        "journal": article.journal,
        "publication_types": list(article.publication_types),
        "language": article.language,
        "revised": article.revised,
    }


def article_from_row(row: dict[str, Any]) -> Article:
    """The Article a table row holds (the inverse of :func:`article_row`)."""
    return Article(
        pmid=row["pmid"],
        title=row["title"],
        abstract_sections=[
            AbstractSection(s["label"], s["text"]) for s in row["abstract_sections"]
        ],
        mesh_headings=[
            MeshHeading(
                ui=h["ui"],
                name=h["name"],
                major_topic=h["major_topic"],
                qualifiers=tuple(
                    Qualifier(q["ui"], q["name"], q["major_topic"]) for q in h["qualifiers"]
                ),
            )
            for h in row["mesh_headings"]
        ],
        year=row["year"],
        journal=row["journal"],
        publication_types=list(row["publication_types"]),
        language=row["language"],
        revised=row["revised"],
    )
