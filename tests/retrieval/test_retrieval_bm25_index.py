"""The memory-mapped BM25 index: scores identical to bm25s (the engine it replaced), builds
that do not depend on batch sizes, memory that does not grow with the corpus, and clear
errors for broken index folders."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import bm25s
import numpy as np
import pytest

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.errors import InputError
from meshdistill.pubmed.synthetic import default_descriptors, random_spec
from meshdistill.records import Article
from meshdistill.retrieval import BM25Retriever, BuildSettings
from meshdistill.retrieval.documents import IndexedDocument, unique_documents
from meshdistill.retrieval.tokens import tokenize

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "corpus" / "sample_pubmed.xml"


@pytest.fixture(scope="module")
def sample() -> list[Article]:
    if not SAMPLE.is_file():
        pytest.skip(f"sample corpus {SAMPLE} is absent")
    from meshdistill.pubmed.xml import iter_pubmed_xml

    return [a for a in iter_pubmed_xml(SAMPLE) if a.abstract]


def synthetic_documents(count: int, seed: int = 0, rare_words: int = 0) -> list[IndexedDocument]:
    """Synthetic articles; ``rare_words`` adds that many words per abstract from a long-tailed
    lexicon, so the vocabulary has many short posting lists as real text does."""
    rng = random.Random(seed)
    descriptors = default_descriptors()
    documents = []
    for offset in range(count):
        spec = random_spec(1_000_000 + offset, rng, descriptors)
        rare = [f"term{int(rng.paretovariate(1.0))}" for _ in range(rare_words)]
        abstract = " ".join([*(text for _, text in spec.sections), *rare])
        uis = tuple(heading[0] for heading in spec.headings)
        documents.append(IndexedDocument(spec.pmid, spec.title, abstract, uis))
    return documents


def bm25s_scores(documents: list[IndexedDocument], queries: list[str]) -> list[np.ndarray]:
    """Today's reference: bm25s with the parameters the project always used."""
    model = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    model.index([tokenize(document.text) for document in documents], show_progress=False)
    scores = []
    for query in queries:
        ids = model.get_tokens_ids(tokenize(query))
        if not ids:
            scores.append(np.zeros(len(documents), dtype=np.float32))
        else:
            scores.append(np.asarray(model.get_scores(ids), dtype=np.float32))
    return scores


def test_scores_are_bit_identical_to_bm25s_on_the_sample(sample: list[Article]) -> None:
    documents = unique_documents(sample)
    queries = [q for d in documents for q in (d.title, d.abstract[:300], f"{d.title} {d.title}")]
    queries += ["insulin insulin insulin resistance", "zebrafish", ""]
    retriever = BM25Retriever.build(sample, settings=BuildSettings(batch_documents=5))
    for query, expected in zip(queries, bm25s_scores(documents, queries), strict=True):
        assert np.array_equal(retriever.scores(query), expected), query


def test_scores_are_bit_identical_to_bm25s_on_a_synthetic_corpus(tmp_path: Path) -> None:
    documents = synthetic_documents(600, rare_words=20)
    queries = [d.title for d in documents[:40]] + [d.abstract[-60:] for d in documents[:40]]
    queries += ["patients", "naïve Müller β-catenin", "term1 term2 term1"]
    retriever = BM25Retriever.build_from_documents(documents, tmp_path / "index")
    for query, expected in zip(queries, bm25s_scores(documents, queries), strict=True):
        assert np.array_equal(retriever.scores(query), expected), query
    # Search sees the same scores, both when scores accumulate over the whole corpus (common
    # terms) and over the union of the postings (rare terms).
    hits = retriever.search("patients", 3)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_batch_sizes_do_not_change_the_index(tmp_path: Path) -> None:
    documents = synthetic_documents(60, seed=3, rare_words=30)
    BM25Retriever.build_from_documents(documents, tmp_path / "one")
    BM25Retriever.build_from_documents(
        documents, tmp_path / "small", settings=BuildSettings(batch_documents=3, merge_postings=7)
    )
    names = sorted(path.name for path in (tmp_path / "one").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "small").iterdir())
    assert ".runs" not in names
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "small" / name).read_bytes()


def test_index_opens_memory_mapped_and_returns_stored_documents(tmp_path: Path) -> None:
    documents = synthetic_documents(30, seed=5)
    BM25Retriever.build_from_documents(documents, tmp_path / "index")
    opened = BM25Retriever.load(tmp_path / "index")
    assert isinstance(opened._impacts, np.memmap) and isinstance(opened._rows, np.memmap)
    assert list(opened.store) == documents
    assert list(opened.corpus_annotations()) == [d.mesh_uis for d in documents]
    assert opened.annotation_counts() == AnnotationCounts.from_documents(
        d.mesh_uis for d in documents
    )
    assert opened.store.row_of(documents[7].pmid) == 7 and opened.store.row_of("nope") is None
    for hit in opened.search(documents[7].title, 5):
        document = documents[opened.store.row_of(hit.pmid) or 0]
        assert (hit.pmid, hit.title, hit.text, hit.mesh_uis) == (
            document.pmid,
            document.title,
            document.abstract,
            document.mesh_uis,
        )


def test_memory_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    settings = BuildSettings(batch_documents=100, merge_postings=4_000)
    peaks = []
    for count in (500, 2_000):
        documents = synthetic_documents(count, seed=count)
        tracemalloc.start()
        BM25Retriever.build_from_documents(iter(documents), tmp_path / str(count), None, settings)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # four times the documents, about the same peak (a batch and a merge step)
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_documents_out_of_pmid_order_are_refused(tmp_path: Path) -> None:
    documents = synthetic_documents(4)
    with pytest.raises(InputError, match="strictly increasing PMID order"):
        BM25Retriever.build_from_documents([documents[1], documents[0]], tmp_path / "x")
    with pytest.raises(InputError, match="strictly increasing PMID order"):
        BM25Retriever.build_from_documents([documents[0], documents[0]], tmp_path / "y")
    with pytest.raises(InputError, match="zero articles"):
        BM25Retriever.build_from_documents([], tmp_path / "z")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: (folder / "postings_impacts.bin").unlink(), "missing"),
        (lambda folder: (folder / "term_keys.bin").write_bytes(b"\0" * 8), "corrupt"),
        (lambda folder: (folder / "manifest.json").write_text("{"), "unreadable manifest"),
        (lambda folder: (folder / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda folder: (folder / "mesh_vocabulary.json").write_text("[]"), "heading counts"),
    ],
)
def test_broken_index_names_the_folder_and_the_rule(
    tmp_path: Path, damage: object, message: str
) -> None:
    folder = tmp_path / "bm25"
    BM25Retriever.build_from_documents(synthetic_documents(10), folder)
    damage(folder)  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as caught:
        BM25Retriever.load(folder)
    assert str(folder) in str(caught.value)
    assert "retrieval_index" in str(caught.value)


def is_rare(word: str) -> bool:
    return word.startswith("term") and int(word.removeprefix("term").rstrip(".")) >= 20


def expected_ranking(
    documents: list[IndexedDocument], scores: np.ndarray, k: int, exclude: set[str]
) -> list[tuple[str, float]]:
    """Top k by descending bm25s score, then ascending PMID; zero scores never returned."""
    ranked = sorted(
        (-float(score), document.pmid)
        for document, score in zip(documents, scores, strict=True)
        if score > 0 and document.pmid not in exclude
    )
    return [(pmid, round(-negative, 6)) for negative, pmid in ranked[:k]]


def test_search_ranks_as_bm25s_scores_whether_accumulated_densely_or_sparsely(
    tmp_path: Path,
) -> None:
    documents = synthetic_documents(300, seed=11, rare_words=25)
    retriever = BM25Retriever.build_from_documents(documents, tmp_path / "index")
    common = [d.title for d in documents[:10]]  # synthetic words: postings cover the corpus
    rare = [" ".join(w for w in d.abstract.split() if is_rare(w)) for d in documents[:10]]
    assert all(retriever._accumulate(query)[0] is None for query in common)
    assert all(retriever._accumulate(query)[0] is not None for query in rare)
    queries = common + rare
    for query, scores in zip(queries, bm25s_scores(documents, queries), strict=True):
        for k, exclude in ((1, set()), (4, {documents[0].pmid}), (50, {documents[3].pmid})):
            hits = retriever.search(query, k, exclude)
            assert [(h.pmid, h.score) for h in hits] == expected_ranking(
                documents, scores, k, exclude
            ), (query, k)
