"""Checks that the bundled sample data (MeSH subset and PubMed-layout corpus) meet the spec.

Only the standard library's XML parser is used so that these checks do not depend on the
package code they are meant to feed.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MESH_SUBSET = REPO_ROOT / "data" / "mesh" / "desc_subset.xml"
CORPUS = REPO_ROOT / "data" / "corpus" / "sample_pubmed.xml"
MESH_2017_TSV = REPO_ROOT.parent / "shared" / "data" / "mesh2017" / "MeshTreeHierarchy2017.tsv"

MIN_DESCRIPTORS, MAX_DESCRIPTORS = 150, 220
MIN_TOP_CATEGORIES = 4
MIN_SYNONYM_RECORDS = 15
MIN_ABSTRACTS = 64
MIN_HEADINGS, MAX_HEADINGS = 4, 12
MIN_TARGETS, MIN_ABSTRACTS_PER_TARGET = 8, 6
MIN_TARGET_BRANCHES = 3
MIN_WORDS, MAX_WORDS = 120, 220
FIRST_SYNTHETIC_PMID = 99000001
YEARS = range(2015, 2025)
JOURNAL_ARTICLE_UI = "D016428"

MESH_DOCTYPE = (
    "<!DOCTYPE DescriptorRecordSet SYSTEM "
    '"https://www.nlm.nih.gov/databases/dtd/nlmdescriptorrecordset_20170101.dtd">'
)
PUBMED_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)
DESCRIPTOR_UI = re.compile(r"^D\d{6,9}$")
QUALIFIER_UI = re.compile(r"^Q\d{6,10}$")
TREE_NUMBER = re.compile(r"^[A-Z]\d{2}(\.\d{3})*$")


@dataclass(frozen=True)
class Descriptor:
    ui: str
    name: str
    tree_numbers: tuple[str, ...]
    entry_terms: tuple[str, ...]


@dataclass(frozen=True)
class Heading:
    ui: str
    name: str
    major: str
    qualifiers: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Citation:
    pmid: str
    year: int
    title: str
    abstract_parts: tuple[tuple[str | None, str], ...]
    headings: tuple[Heading, ...]

    @property
    def abstract(self) -> str:
        return " ".join(text for _, text in self.abstract_parts)

    def major_uis(self) -> set[str]:
        return {h.ui for h in self.headings if h.major == "Y"}


def _text(element: ET.Element | None, where: str) -> str:
    assert element is not None, f"missing element: {where}"
    text = "".join(element.itertext()).strip()
    assert text, f"empty element: {where}"
    return text


@lru_cache(maxsize=1)
def load_subset() -> dict[str, Descriptor]:
    root = ET.parse(MESH_SUBSET).getroot()
    assert root.tag == "DescriptorRecordSet"
    assert root.get("LanguageCode") == "eng"
    descriptors: dict[str, Descriptor] = {}
    for record in root.findall("DescriptorRecord"):
        ui = _text(record.find("DescriptorUI"), "DescriptorUI")
        where = f"{MESH_SUBSET.name} record {ui}"
        assert record.get("DescriptorClass") == "1", where
        name = _text(record.find("DescriptorName/String"), f"{where} DescriptorName/String")
        trees = tuple(
            _text(t, f"{where} TreeNumber") for t in record.findall("TreeNumberList/TreeNumber")
        )
        terms = tuple(
            _text(s, f"{where} Term/String")
            for s in record.findall("ConceptList/Concept/TermList/Term/String")
        )
        assert ui not in descriptors, f"duplicate DescriptorUI {ui}"
        descriptors[ui] = Descriptor(ui, name, trees, tuple(t for t in terms if t != name))
    return descriptors


@lru_cache(maxsize=1)
def load_corpus() -> tuple[Citation, ...]:
    root = ET.parse(CORPUS).getroot()
    assert root.tag == "PubmedArticleSet"
    citations = []
    for article in root.findall("PubmedArticle"):
        medline = article.find("MedlineCitation")
        assert medline is not None, "PubmedArticle without MedlineCitation"
        pmid_el = medline.find("PMID")
        pmid = _text(pmid_el, "PMID")
        where = f"{CORPUS.name} PMID {pmid}"
        assert medline.get("Status") == "MEDLINE" and medline.get("Owner") == "NLM", where
        assert pmid_el is not None and pmid_el.get("Version") == "1", where
        assert _text(medline.find("Article/Language"), f"{where} Language") == "eng", where
        _text(medline.find("Article/Journal/Title"), f"{where} Journal/Title")
        pub_types = {
            p.get("UI") for p in medline.findall("Article/PublicationTypeList/PublicationType")
        }
        assert JOURNAL_ARTICLE_UI in pub_types, where
        ids = [
            _text(i, f"{where} ArticleId")
            for i in article.findall("PubmedData/ArticleIdList/ArticleId")
            if i.get("IdType") == "pubmed"
        ]
        assert ids == [pmid], f"{where}: PubmedData pubmed id {ids} differs from PMID"
        parts = tuple(
            (a.get("Label"), _text(a, f"{where} AbstractText"))
            for a in medline.findall("Article/Abstract/AbstractText")
        )
        headings = []
        for mh in medline.findall("MeshHeadingList/MeshHeading"):
            desc = mh.find("DescriptorName")
            assert desc is not None, f"{where}: MeshHeading without DescriptorName"
            qualifiers = tuple(
                (q.get("UI") or "", _text(q, f"{where} QualifierName"), q.get("MajorTopicYN") or "")
                for q in mh.findall("QualifierName")
            )
            headings.append(
                Heading(
                    desc.get("UI") or "",
                    _text(desc, f"{where} DescriptorName"),
                    desc.get("MajorTopicYN") or "",
                    qualifiers,
                )
            )
        citations.append(
            Citation(
                pmid=pmid,
                year=int(_text(medline.find("Article/Journal/JournalIssue/PubDate/Year"), where)),
                title=_text(medline.find("Article/ArticleTitle"), f"{where} ArticleTitle"),
                abstract_parts=parts,
                headings=tuple(headings),
            )
        )
    return tuple(citations)


def parent(tree_number: str) -> str | None:
    return tree_number.rsplit(".", 1)[0] if "." in tree_number else None


def tree_owner(subset: dict[str, Descriptor]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for d in subset.values():
        for t in d.tree_numbers:
            assert t not in owner, f"tree number {t} held by {owner[t]} and {d.ui}"
            owner[t] = d.ui
    return owner


def target_counts(citations: tuple[Citation, ...]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for c in citations:
        counts.update(c.major_uis())
    return counts


def disease_targets(subset: dict[str, Descriptor]) -> dict[str, int]:
    """Major-topic disease descriptors (C tree) with at least the required number of abstracts."""
    counts = target_counts(load_corpus())
    return {
        ui: n
        for ui, n in counts.items()
        if n >= MIN_ABSTRACTS_PER_TARGET and any(t.startswith("C") for t in subset[ui].tree_numbers)
    }


# ---------------------------------------------------------------- MeSH subset


def test_subset_declaration_and_doctype() -> None:
    head = MESH_SUBSET.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0] == '<?xml version="1.0"?>'
    assert head[1] == MESH_DOCTYPE
    assert head[2] == '<DescriptorRecordSet LanguageCode = "eng">'


def test_subset_size_and_identifiers() -> None:
    subset = load_subset()
    assert MIN_DESCRIPTORS <= len(subset) <= MAX_DESCRIPTORS, len(subset)
    names = [d.name for d in subset.values()]
    assert len(set(names)) == len(names), "descriptor names must be unique"
    for d in subset.values():
        assert DESCRIPTOR_UI.match(d.ui), d.ui
        assert d.tree_numbers, f"{d.ui} {d.name} has no tree number"
        for t in d.tree_numbers:
            assert TREE_NUMBER.match(t), f"{d.ui}: malformed tree number {t}"


def test_subset_spans_required_categories() -> None:
    subset = load_subset()
    letters = {t[0] for d in subset.values() for t in d.tree_numbers}
    assert len(letters) >= MIN_TOP_CATEGORIES, letters
    assert {"C", "D", "E"} <= letters
    assert letters & {"A", "G"}, "needs Anatomy or Phenomena descriptors"


def test_subset_is_closed_under_ancestors() -> None:
    owner = tree_owner(load_subset())
    missing = sorted(t for t in owner if (p := parent(t)) is not None and p not in owner)
    assert not missing, f"tree numbers whose parent is absent: {missing}"


def test_subset_has_deep_chains_for_similarity() -> None:
    subset = load_subset()
    by_name = {d.name: d for d in subset.values()}
    expected_chains = {
        "Myocardial Infarction": "C14.280.647.500",
        "Diabetes Mellitus, Type 2": "C18.452.394.750.149",
        "Carcinoma, Ductal, Breast": "C04.557.470.200.025.232.500",
        "Alzheimer Disease": "C10.228.140.380.100",
        "Metformin": "D02.078.370.141.450",
    }
    for name, tree in expected_chains.items():
        assert tree in by_name[name].tree_numbers, (name, tree)
    depths = Counter(t.count(".") + 1 for d in subset.values() for t in d.tree_numbers)
    assert max(depths) >= 7, depths


def test_subset_entry_terms() -> None:
    subset = load_subset()
    with_terms = [d for d in subset.values() if d.entry_terms]
    assert len(with_terms) >= MIN_SYNONYM_RECORDS, len(with_terms)
    for d in with_terms:
        assert 1 <= len(d.entry_terms) <= 3, (d.name, d.entry_terms)
    names = {d.name.lower() for d in subset.values()}
    all_terms = [t.lower() for d in with_terms for t in d.entry_terms]
    assert not names & set(all_terms), "an entry term must not equal a descriptor name"
    assert len(set(all_terms)) == len(all_terms), "an entry term must point to one descriptor"
    by_name = {d.name: d for d in subset.values()}
    assert "Cancer" in by_name["Neoplasms"].entry_terms
    assert "Heart Attack" in by_name["Myocardial Infarction"].entry_terms


@pytest.mark.skipif(
    not MESH_2017_TSV.is_file(),
    reason=f"MeSH 2017 tree file not found at {MESH_2017_TSV}; cannot check against it",
)
def test_subset_matches_mesh_2017_tree() -> None:
    with MESH_2017_TSV.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        official = {row["Tree Number"]: (row["Desc Ui"], row["Term"]) for row in reader}
    mismatches = [
        (d.ui, d.name, t, official.get(t))
        for d in load_subset().values()
        for t in d.tree_numbers
        if official.get(t) != (d.ui, d.name)
    ]
    assert not mismatches, f"(UI, name, tree number) not in MeSH 2017: {mismatches[:10]}"


# ---------------------------------------------------------------- corpus


def test_corpus_declaration_and_doctype() -> None:
    head = CORPUS.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0] == '<?xml version="1.0" ?>'
    assert head[1] == PUBMED_DOCTYPE
    assert head[2] == "<PubmedArticleSet>"


def test_corpus_size_and_synthetic_unique_pmids() -> None:
    citations = load_corpus()
    assert len(citations) >= MIN_ABSTRACTS, len(citations)
    pmids = [c.pmid for c in citations]
    assert len(set(pmids)) == len(pmids), "PMIDs must be unique"
    for pmid in pmids:
        assert pmid.isdigit() and int(pmid) >= FIRST_SYNTHETIC_PMID, f"non-synthetic PMID {pmid}"


def test_corpus_abstract_text_and_years() -> None:
    for c in load_corpus():
        words = len(c.abstract.split())
        assert MIN_WORDS <= words <= MAX_WORDS, f"PMID {c.pmid}: {words} words"
        assert c.year in YEARS, f"PMID {c.pmid}: year {c.year}"
        labels = [label for label, _ in c.abstract_parts]
        assert all(labels) or labels == [None], f"PMID {c.pmid}: mixed labelled/unlabelled"
    structured = [c for c in load_corpus() if c.abstract_parts[0][0] is not None]
    assert structured, "expected some structured abstracts"
    assert len(structured) < len(load_corpus()), "expected some unstructured abstracts"


def test_corpus_headings_come_from_subset() -> None:
    subset = load_subset()
    for c in load_corpus():
        assert MIN_HEADINGS <= len(c.headings) <= MAX_HEADINGS, (c.pmid, len(c.headings))
        uis = [h.ui for h in c.headings]
        assert len(set(uis)) == len(uis), f"PMID {c.pmid}: repeated heading"
        for h in c.headings:
            assert h.ui in subset, f"PMID {c.pmid}: {h.ui} ({h.name}) not in the MeSH subset"
            assert h.name == subset[h.ui].name, f"PMID {c.pmid}: {h.ui} named {h.name!r}"
            assert h.major in {"Y", "N"}, (c.pmid, h.ui)
            for q_ui, q_name, q_major in h.qualifiers:
                assert QUALIFIER_UI.match(q_ui), (c.pmid, q_ui, q_name)
                assert q_major in {"Y", "N"}, (c.pmid, q_ui)
        assert c.major_uis(), f"PMID {c.pmid}: no major-topic heading"


def test_corpus_qualifier_names_are_consistent() -> None:
    name_of: dict[str, str] = {}
    for c in load_corpus():
        for h in c.headings:
            for q_ui, q_name, _ in h.qualifiers:
                assert name_of.setdefault(q_ui, q_name) == q_name, (q_ui, q_name, name_of[q_ui])
    assert {"Q000188", "Q000097", "Q000000981"} <= set(name_of), sorted(name_of)


def test_corpus_targets_are_spread_over_branches() -> None:
    subset = load_subset()
    targets = disease_targets(subset)
    assert len(targets) >= MIN_TARGETS, {subset[u].name: n for u, n in targets.items()}
    branches = {t.split(".")[0] for ui in targets for t in subset[ui].tree_numbers}
    assert len(branches) >= MIN_TARGET_BRANCHES, branches


def test_corpus_has_cross_topic_abstracts() -> None:
    targets = set(disease_targets(load_subset()))
    crossing = [c.pmid for c in load_corpus() if len(c.major_uis() & targets) >= 2]
    assert len(crossing) >= 3, crossing


def test_corpus_same_target_abstracts_share_more_headings() -> None:
    """The MeSH agreement signal only means something if topics cluster in heading space."""
    targets = set(disease_targets(load_subset()))
    citations = [c for c in load_corpus() if len(c.major_uis() & targets) == 1]

    def overlap(a: Citation, b: Citation) -> float:
        ua, ub = {h.ui for h in a.headings}, {h.ui for h in b.headings}
        return len(ua & ub) / len(ua | ub)

    same: list[float] = []
    different: list[float] = []
    for i, a in enumerate(citations):
        for b in citations[i + 1 :]:
            bucket = same if a.major_uis() & b.major_uis() & targets else different
            bucket.append(overlap(a, b))
    assert sum(same) / len(same) > 2 * sum(different) / len(different)
