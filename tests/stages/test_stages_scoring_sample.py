"""Knowledge-hierarchy scoring on the bundled sample: questions whose retrieved documents share
the source's MeSH branch outrank questions whose documents do not, under every measure; and
leaving out the check tags widens that gap."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from meshdistill.mesh import ALL_MEASURES, MEASURES, MeshTree
from meshdistill.pubmed.corpus import load_corpus
from meshdistill.retrieval import BM25Retriever, RetrievedDocument
from meshdistill.stages.scored import build_scorers, corpus_annotations, hierarchy_scores

REPO = Path(__file__).resolve().parents[2]
CHECK_TAGS_FILE = str(REPO / "data/mesh/check_tags.tsv")
OFF_TOPIC_QUERY = "Do inhaled corticosteroids reduce asthma exacerbations and airway inflammation?"


def scoring(**settings: Any) -> dict[str, Any]:
    return {
        "measure": "lin",
        "information_content": "intrinsic",
        "category": "letter",
        "exclude_headings": [],
        "set_method": "mean",
        "check_tags_file": CHECK_TAGS_FILE,
        **settings,
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tree = MeshTree.load(
        REPO / "data/mesh/desc_subset.xml", cache_dir=tmp_path_factory.mktemp("mesh-cache")
    )
    articles, _ = load_corpus([REPO / "data/corpus/sample_pubmed.xml"])
    retriever = BM25Retriever.build(articles)
    annotations = corpus_annotations(retriever, logging.getLogger("test"))
    return tree, {a.pmid: a for a in articles}, retriever, annotations


@pytest.fixture(scope="module")
def breast_contexts(sample):  # type: ignore[no-untyped-def]
    _, articles, retriever, _ = sample
    breast = next(a for a in articles.values() if "D001943" in a.major_topic_uis)
    on_branch = retriever.search(breast.title, 4, exclude_pmids={breast.pmid})
    off_branch = retriever.search(OFF_TOPIC_QUERY, 4, exclude_pmids={breast.pmid})
    assert breast.pmid not in {d.pmid for d in on_branch + off_branch}
    assert any("D001943" in d.mesh_uis for d in on_branch)
    assert not any("D001943" in d.mesh_uis for d in off_branch)
    return breast, on_branch, off_branch


def gap(
    scorers: Any, source: list[str], on: list[RetrievedDocument], off: list[RetrievedDocument]
) -> dict[str, tuple[float, float]]:
    good = hierarchy_scores(scorers, source, on, "mean")
    bad = hierarchy_scores(scorers, source, off, "mean")
    return {measure: (good[measure], bad[measure]) for measure in good}


@pytest.mark.parametrize("category", ["letter", "segment"])
@pytest.mark.parametrize("ic_kind", ["intrinsic", "corpus"])
def test_on_branch_question_outranks_off_branch_question(
    sample, breast_contexts, ic_kind: str, category: str
) -> None:  # type: ignore[no-untyped-def]
    tree, _, _, annotations = sample
    breast, on_branch, off_branch = breast_contexts
    scorers = build_scorers(
        tree, scoring(information_content=ic_kind, category=category), annotations
    )
    assert sorted(scorers) == sorted(ALL_MEASURES)
    for measure, (good, bad) in gap(scorers, breast.heading_uis, on_branch, off_branch).items():
        assert 0.0 <= bad < good <= 1.0, (measure, good, bad)
    best_good = hierarchy_scores(scorers, breast.heading_uis, on_branch, "best_match")
    best_bad = hierarchy_scores(scorers, breast.heading_uis, off_branch, "best_match")
    assert best_bad["lin"] < best_good["lin"]


def test_leaving_out_check_tags_widens_the_gap(sample, breast_contexts) -> None:  # type: ignore[no-untyped-def]
    # The sample's check tags are age groups (Adult, Middle Aged, Aged: in 2/3 of its articles);
    # they match between the breast-cancer source and the asthma contexts as well as anywhere.
    tree, _, _, annotations = sample
    breast, on_branch, off_branch = breast_contexts
    source_tags = {"D000328", "D000368", "D008875"} & set(breast.heading_uis)
    assert source_tags and all(source_tags & set(d.mesh_uis) for d in off_branch)
    for settings in ({}, {"category": "segment"}):
        kept = build_scorers(tree, scoring(**settings), annotations)
        left_out = build_scorers(
            tree, scoring(exclude_headings=["check_tags"], **settings), annotations
        )
        with_tags = gap(kept, breast.heading_uis, on_branch, off_branch)
        without = gap(left_out, breast.heading_uis, on_branch, off_branch)
        for measure in ALL_MEASURES:
            (good, bad), (good_ex, bad_ex) = with_tags[measure], without[measure]
            assert good_ex - bad_ex > 1.5 * (good - bad), (measure, with_tags, without)
            assert good_ex / bad_ex > 1.5 * good / bad, (measure, with_tags, without)


def test_custom_exclusions_and_unknown_entries(sample, breast_contexts) -> None:  # type: ignore[no-untyped-def]
    tree, _, _, annotations = sample
    breast, on_branch, _ = breast_contexts
    by_list = build_scorers(
        tree, scoring(exclude_headings=["D000328", "D000368", "D008875"]), annotations
    )
    by_name = build_scorers(tree, scoring(exclude_headings=["check_tags"]), annotations)
    assert hierarchy_scores(by_list, breast.heading_uis, on_branch, "mean") == hierarchy_scores(
        by_name, breast.heading_uis, on_branch, "mean"
    )
    with pytest.raises(Exception, match="exclude_headings"):
        build_scorers(tree, scoring(exclude_headings=["Humans"]), annotations)


def test_kailin_needs_a_local_corpus(sample) -> None:  # type: ignore[no-untyped-def]
    tree, _, _, _ = sample
    scorers = build_scorers(tree, scoring(), None)
    assert sorted(scorers) == sorted(MEASURES)
    with pytest.raises(ValueError, match="kailin"):
        build_scorers(tree, scoring(measure="kailin"), None)
    with pytest.raises(ValueError, match="corpus"):
        build_scorers(tree, scoring(information_content="corpus"), None)


def test_no_retrieved_documents_scores_zero(sample) -> None:  # type: ignore[no-untyped-def]
    tree, articles, _, annotations = sample
    scorers = build_scorers(tree, scoring(), annotations)
    source = next(iter(articles.values()))
    assert hierarchy_scores(scorers, source.heading_uis, [], "mean") == dict.fromkeys(
        ALL_MEASURES, 0.0
    )
