"""MEDLINE text parsing (Bio.Medline underneath) on records written for the project."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from meshdistill.errors import InputError
from meshdistill.pubmed.medline import iter_medline, parse_heading, split_labelled_abstract

MEDLINE = """\
PMID- 32000001
OWN - NLM
STAT- MEDLINE
DP  - 2020 Mar 5
TI  - Naïve T cells and β-catenin signalling in Müller glia: a cohort study of
      patients in São Paulo.
AB  - BACKGROUND: Little is known about COPD: a common disease. METHODS: We
      enrolled 120 patients (mean age 64 years). RESULTS: Expression fell by 30%.
      CONCLUSIONS/SIGNIFICANCE: Signalling matters.
LA  - eng
LA  - por
PT  - Journal Article
PT  - Multicenter Study
MH  - Humans
MH  - *T-Lymphocytes/immunology/*metabolism
MH  - beta Catenin/*genetics
JT  - Jornal de Pesquisa Clínica
TA  - J Pesqui Clin

PMID- 32000002
DP  - 2018
TI  - Abstract-less editorial.
LA  - eng
PT  - Editorial
MH  - Humans
JT  - Editorial Journal

PMID- 32000003
DP  - 2017 Winter
TI  - No headings at all.
AB  - Plain abstract with a ratio 3:1 and an acronym HIV: inside.
LA  - eng
TA  - J Abbrev
"""


def test_fields_headings_and_structured_abstract(tmp_path: Path) -> None:
    path = tmp_path / "records.txt"
    path.write_text(MEDLINE, encoding="utf-8")
    first, editorial, plain = iter_medline(path)
    assert first.pmid == "32000001"
    assert first.title.startswith("Naïve T cells and β-catenin") and "São Paulo." in first.title
    assert [s.label for s in first.abstract_sections] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS/SIGNIFICANCE",
    ]
    assert first.abstract_sections[0].text == "Little is known about COPD: a common disease."
    assert first.year == 2020
    assert first.language == "eng"
    assert first.journal == "Jornal de Pesquisa Clínica"
    assert first.publication_types == ["Journal Article", "Multicenter Study"]
    humans, t_cells, catenin = first.mesh_headings
    assert humans.ui is None and humans.name == "Humans" and not humans.is_major
    assert t_cells.name == "T-Lymphocytes" and t_cells.major_topic
    assert [(q.name, q.major_topic) for q in t_cells.qualifiers] == [
        ("immunology", False),
        ("metabolism", True),
    ]
    assert not catenin.major_topic and catenin.is_major
    assert editorial.abstract_sections == [] and editorial.year == 2018
    assert plain.mesh_headings == [] and plain.journal == "J Abbrev"
    assert plain.abstract_sections[0].label is None
    assert plain.abstract == "Plain abstract with a ratio 3:1 and an acronym HIV: inside."


def test_gzip_and_text_stream_give_the_same_records(tmp_path: Path) -> None:
    gz = tmp_path / "records.nbib.gz"
    gz.write_bytes(gzip.compress(MEDLINE.encode("utf-8")))
    from_gz = [a.to_dict() for a in iter_medline(gz)]
    from_stream = [a.to_dict() for a in iter_medline(io.StringIO(MEDLINE))]
    assert from_gz == from_stream and len(from_gz) == 3


def test_record_without_pmid_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.medline"
    path.write_text(MEDLINE + "\nTI  - orphan title\nAB  - text\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(iter_medline(path))
    assert "bad.medline" in str(info.value) and "#4" in str(info.value)


def test_non_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("PMID- 1\nTI  - Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.txt"):
        list(iter_medline(path))


@pytest.mark.parametrize(
    ("value", "name", "major", "qualifiers"),
    [
        ("Humans", "Humans", False, []),
        ("*Neoplasms", "Neoplasms", True, []),
        (
            "Neoplasms/*drug therapy/genetics",
            "Neoplasms",
            False,
            [("drug therapy", True), ("genetics", False)],
        ),
    ],
)
def test_parse_heading(
    value: str, name: str, major: bool, qualifiers: list[tuple[str, bool]]
) -> None:
    heading = parse_heading(value)
    assert (heading.name, heading.major_topic) == (name, major)
    assert [(q.name, q.major_topic) for q in heading.qualifiers] == qualifiers


def test_split_labels_only_when_text_starts_with_one() -> None:
    assert [s.label for s in split_labelled_abstract("AIM: x. METHODS: y.")] == ["AIM", "METHODS"]
    assert [s.label for s in split_labelled_abstract("In COPD: x. METHODS: y.")] == [None]
    assert split_labelled_abstract("   ") == []
