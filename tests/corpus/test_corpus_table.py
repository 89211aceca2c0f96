"""The corpus table: built once in bounded memory, newest version of a PMID winning exactly as
the in-memory reader decides, byte-identical on rebuild, read by lookup."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from meshdistill.corpus import (
    ARTICLES_FILE,
    INDEX_FILE,
    MANIFEST_FILE,
    CorpusTable,
    IngestSettings,
    ingest_corpus,
    iter_documents,
)
from meshdistill.corpus.reader import row_groups_holding
from meshdistill.errors import InputError
from meshdistill.pubmed.corpus import load_corpus
from meshdistill.pubmed.synthetic import (
    PubDate,
    article_set_xml,
    article_xml,
    spec_from_article,
    write_synthetic_xml,
)
from meshdistill.records import AbstractSection, Article, MeshHeading, Qualifier
from meshdistill.retrieval.documents import unique_documents

SAMPLE = Path(__file__).parents[2] / "data" / "corpus" / "sample_pubmed.xml"
# Tiny runs and row groups, so a few hundred articles go through many runs and merge passes.
TINY = IngestSettings(batch_rows=30, index_batch_rows=90, merge_read_rows=8, merge_fan_in=3)


def _version(pmid: str, title: str, revised: str | None, uis: list[tuple[str, bool]]) -> Article:
    headings = [
        MeshHeading(ui, f"Name {ui}", major, (Qualifier("Q000000", "therapy", False),))
        for ui, major in uis
    ]
    sections = [AbstractSection("BACKGROUND", f"On {title}."), AbstractSection(None, "More.")]
    return Article(pmid, title, sections, headings, year=2000 + int(pmid) % 20, revised=revised)


def _versioned_corpus(folder: Path, files: int = 4, per_file: int = 40) -> list[str]:
    """PubMed XML files re-issuing PMIDs with and without revision dates, in a fixed random mix
    (so file order decides some PMIDs and dates others)."""
    rng = random.Random(7)
    paths = []
    for number in range(files):
        specs = []
        for _ in range(per_file):
            pmid = str(rng.randint(1, 60))
            revised = rng.choice([None, 2019, 2020, 2021])
            uis = [(f"D{rng.randint(1, 9):06d}", rng.random() < 0.5) for _ in range(3)]
            version = _version(pmid, f"t{number}-{pmid}-{revised}", None, uis)
            spec = spec_from_article(version)
            spec.revised = PubDate(revised) if revised else None
            specs.append(article_xml(spec))
        path = folder / f"part{number}.xml"
        path.write_text(article_set_xml(specs), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_iter_documents_equals_the_in_memory_documents_in_pmid_order(tmp_path: Path) -> None:
    paths = [str(SAMPLE), *_versioned_corpus(tmp_path)]
    ingest_corpus(paths, tmp_path / "corpus", settings=TINY)
    expected = unique_documents(load_corpus(paths)[0])
    documents = list(iter_documents(tmp_path / "corpus" / ARTICLES_FILE, batch_rows=5))
    assert documents == expected
    assert [d.pmid for d in documents] == sorted(d.pmid for d in documents)
    assert list(iter_documents(tmp_path / "corpus", batch_rows=1000)) == expected


def test_newest_version_wins_as_in_memory_across_files_and_dates(tmp_path: Path) -> None:
    paths = _versioned_corpus(tmp_path)
    manifest = ingest_corpus(paths, tmp_path / "corpus", settings=TINY)
    expected, report = load_corpus(paths)
    table = CorpusTable(tmp_path / "corpus")
    by_pmid = {a.pmid: a for a in expected}
    assert table.articles(sorted(by_pmid)) == [by_pmid[p] for p in sorted(by_pmid)]
    assert manifest.report == report.to_dict()
    assert manifest.articles == len(expected) and report.duplicates_replaced > 0
    assert any(a.revised for a in expected) and any(a.revised is None for a in expected)


def test_revision_dates_decide_in_the_sort_not_the_file_order(tmp_path: Path) -> None:
    from meshdistill.corpus.ingest import _newest_versions
    from meshdistill.pubmed.corpus import CorpusReport, latest_versions

    rng = random.Random(3)
    dates = [None, "20190101", "20200101", "20210101"]
    for _ in range(200):
        versions = [
            _version("5", f"v{n}", rng.choice(dates), [("D000001", True)]) for n in range(4)
        ]
        expected = latest_versions(versions, CorpusReport())
        rows = [{"pmid": v.pmid, "revised": v.revised, "title": v.title, "ordinal": n}
                for n, v in enumerate(versions)]  # fmt: skip
        (newest,) = _newest_versions(rows, CorpusReport())
        assert newest["title"] == expected[0].title


def test_postings_and_lookups_read_only_the_row_groups_that_can_hold_them(tmp_path: Path) -> None:
    corpus = write_synthetic_xml(tmp_path / "synthetic.xml", 300, seed=4)
    settings = IngestSettings(
        batch_rows=20, index_batch_rows=50, merge_read_rows=16, merge_fan_in=8
    )
    manifest = ingest_corpus([corpus], tmp_path / "corpus", settings=settings)
    articles, _ = load_corpus([corpus])
    table = CorpusTable(tmp_path / "corpus")
    ui = articles[0].heading_uis[0]
    expected = sorted(a.pmid for a in articles if ui in a.heading_uis)
    postings = table.postings(ui)
    assert [p.pmid for p in postings] == expected
    assert [p.major for p in postings] == [
        ui in a.major_topic_uis
        for a in sorted(articles, key=lambda a: a.pmid)
        if ui in a.heading_uis
    ]
    with pq.ParquetFile(tmp_path / "corpus" / INDEX_FILE) as index:
        assert index.metadata.num_row_groups == -(-manifest.postings // 50)
        assert len(row_groups_holding(index, "descriptor_ui", [ui])) <= 2
    with pq.ParquetFile(tmp_path / "corpus" / ARTICLES_FILE) as table_file:
        assert table_file.metadata.num_row_groups == 15
        assert len(row_groups_holding(table_file, "pmid", [expected[0]])) == 1
    assert [a.pmid for a in table.articles([expected[-1], "nope", expected[0]])] == [
        expected[-1], expected[0]
    ]  # fmt: skip


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    paths = _versioned_corpus(tmp_path)
    ingest_corpus(paths, tmp_path / "a", settings=TINY)
    ingest_corpus(paths, tmp_path / "b", settings=TINY)
    for name in (ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        [ARTICLES_FILE, INDEX_FILE, MANIFEST_FILE]
    )  # the sort's scratch files are gone


def test_a_bad_file_is_named_and_leaves_no_table(tmp_path: Path) -> None:
    broken = tmp_path / "pubmed25n0002.xml"
    broken.write_text("<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>")
    with pytest.raises(InputError, match="pubmed25n0002.xml"):
        ingest_corpus([str(SAMPLE), str(broken)], tmp_path / "corpus", settings=TINY)
    assert list((tmp_path / "corpus").iterdir()) == []
    with pytest.raises(InputError, match="corpus rule"):
        CorpusTable(tmp_path / "corpus")


def _python_peak(paths: list[Path], folder: Path) -> int:
    settings = IngestSettings(
        batch_rows=50, index_batch_rows=200, merge_read_rows=16, merge_fan_in=4
    )
    tracemalloc.start()
    try:
        ingest_corpus(paths, folder, settings=settings)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    small = write_synthetic_xml(tmp_path / "small.xml", 150, seed=1)
    large = write_synthetic_xml(tmp_path / "large.xml", 450, seed=2)
    small_peak = _python_peak([small], tmp_path / "small")
    large_peak = _python_peak([large], tmp_path / "large")
    # Holding the records would take ~3x; bounded runs stay within noise of the small corpus.
    assert large_peak < small_peak * 1.3 + 256 * 1024


def test_medline_heading_names_are_mapped_at_ingest_and_unmapped_ones_counted(
    tmp_path: Path,
) -> None:
    medline = tmp_path / "records.txt"
    medline.write_text(
        "PMID- 7\nTI  - Seven.\nAB  - About glia.\nMH  - *Glia Disease\nMH  - Unknown Thing\n\n"
        "PMID- 8\nTI  - Eight.\nAB  - Also glia.\nMH  - Glia Disease/therapy\n",
        encoding="utf-8",
    )
    manifest = ingest_corpus(
        [str(medline)], tmp_path / "corpus", name_to_ui={"Glia Disease": "D000001"}.get
    )
    table = CorpusTable(tmp_path / "corpus")
    assert [(p.pmid, p.major) for p in table.postings("D000001")] == [("7", True), ("8", False)]
    assert manifest.report["unmapped_heading_names"] == {"Unknown Thing": 1}
    assert table.manifest.corpus_report().mapped_headings == 2
