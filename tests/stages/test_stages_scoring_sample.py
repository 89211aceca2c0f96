"""Knowledge-hierarchy scoring on the bundled sample: questions whose retrieved documents share
the source's MeSH branch outrank questions whose documents do not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from meshdistill.mesh import MEASURES, InformationContent, MeshTree, SimilarityScorer
from meshdistill.pubmed.corpus import load_corpus
from meshdistill.retrieval import BM25Retriever
from meshdistill.stages.scored import hierarchy_scores, information_content

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tree = MeshTree.load(
        REPO / "data/mesh/desc_subset.xml", cache_dir=tmp_path_factory.mktemp("mesh-cache")
    )
    articles, _ = load_corpus([REPO / "data/corpus/sample_pubmed.xml"])
    return tree, {a.pmid: a for a in articles}, BM25Retriever.build(articles)


@pytest.mark.parametrize("ic_kind", ["intrinsic", "corpus"])
def test_on_branch_question_outranks_off_branch_question(sample, ic_kind: str) -> None:  # type: ignore[no-untyped-def]
    tree, articles, retriever = sample
    ic = information_content(ic_kind, tree, retriever, logging.getLogger("test"))
    assert isinstance(ic, InformationContent)
    scorers = {m: SimilarityScorer(tree, ic, m) for m in MEASURES}
    breast = next(a for a in articles.values() if "D001943" in a.major_topic_uis)
    on_branch = retriever.search(breast.title, 4, exclude_pmids={breast.pmid})
    off_branch = retriever.search(
        "Do inhaled corticosteroids reduce asthma exacerbations and airway inflammation?",
        4,
        exclude_pmids={breast.pmid},
    )
    assert breast.pmid not in {d.pmid for d in on_branch + off_branch}
    assert any("D001943" in d.mesh_uis for d in on_branch)
    assert not any("D001943" in d.mesh_uis for d in off_branch)
    good = hierarchy_scores(scorers, breast.heading_uis, on_branch, "mean")
    bad = hierarchy_scores(scorers, breast.heading_uis, off_branch, "mean")
    for measure in MEASURES:
        assert 0.0 <= bad[measure] < good[measure] <= 1.0, (measure, good, bad)
    best_good = hierarchy_scores(scorers, breast.heading_uis, on_branch, "best_match")
    best_bad = hierarchy_scores(scorers, breast.heading_uis, off_branch, "best_match")
    assert best_bad["lin"] < best_good["lin"]


def test_no_retrieved_documents_scores_zero(sample) -> None:  # type: ignore[no-untyped-def]
    tree, articles, retriever = sample
    scorers = {m: SimilarityScorer(tree, InformationContent.intrinsic(tree), m) for m in MEASURES}
    source = next(iter(articles.values()))
    assert hierarchy_scores(scorers, source.heading_uis, [], "mean") == dict.fromkeys(MEASURES, 0.0)
