"""The rules every source shares for which records are usable, and heading name mapping.

A record is kept only when it has abstract text and at least one MeSH heading with a UI;
anything else is skipped and counted, never an error, because real PubMed data is full of
both (letters, comments, in-process citations).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from meshdistill.records import Article, MeshHeading

NameToUi = Callable[[str], str | None]


class SkipReason(StrEnum):
    NO_ABSTRACT = "no_abstract"
    NO_MESH = "no_mesh"


def skip_reason(article: Article) -> SkipReason | None:
    """Why ``article`` cannot be used, or None when it can (abstract checked first)."""
    if not any(section.text.strip() for section in article.abstract_sections):
        return SkipReason.NO_ABSTRACT
    if not any(heading.ui for heading in article.mesh_headings):
        return SkipReason.NO_MESH
    return None


def map_heading_names(
    article: Article, name_to_ui: NameToUi | None, unmapped: Counter[str]
) -> Article:
    """Fill missing heading UIs from their names; drop (and count) headings that stay unmapped.

    Headings that already carry a UI are kept as they are. Without ``name_to_ui`` every
    heading lacking a UI is unmapped.
    """
    if all(heading.ui for heading in article.mesh_headings):
        return article
    headings: list[MeshHeading] = []
    for heading in article.mesh_headings:
        if heading.ui:
            headings.append(heading)
            continue
        ui = name_to_ui(heading.name) if name_to_ui is not None else None
        if ui:
            headings.append(replace(heading, ui=ui))
        else:
            unmapped[heading.name] += 1
    return replace(article, mesh_headings=headings)
