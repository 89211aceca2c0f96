"""Stage 3: retrieve context for every question and score it.

The knowledge-hierarchy score compares the source abstract's MeSH headings with each retrieved
document's headings (set-to-set similarity) and averages over the top-k documents, as the paper's
scorer does. Every measure is recorded (the four textbook ones, and KAILIN's released scorer
whenever the retrieval corpus is local, since it counts that corpus's annotations); the
configured one drives selection. Headings named by ``scoring.exclude_headings`` are dropped
from both sides first. The judge model adds a self-evaluation score; both combine with the
configured weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.annotation_counts import AnnotationCounts
from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.mesh import (
    KAILIN_MEASURE,
    MEASURES,
    HeadingSetScorer,
    InformationContent,
    KailinInformationContent,
    KailinScorer,
    MeshTree,
    SimilarityScorer,
)
from meshdistill.mesh.exclusions import excluded_headings
from meshdistill.records import Article
from meshdistill.retrieval import AnnotatedCorpus, RetrievedDocument, Retriever
from meshdistill.selection import SelectionSettings, combined_score, self_eval_score
from meshdistill.stages.judging import judge_requests, self_evaluation
from meshdistill.stages.llm_roles import Role, run_role_requests
from meshdistill.stages.retrieval_setup import open_retriever

SCORED_SCHEMA = "scored_record.schema.json"


def corpus_annotations(retriever: Retriever, logger: logging.Logger) -> AnnotationCounts | None:
    """The MeSH heading counts of the local retrieval index (BM25, dense or both, read from
    the index itself: a BM25 index stores them summed); None for PubMed search, which has no
    corpus."""
    if not isinstance(retriever, AnnotatedCorpus):
        return None
    counts = retriever.annotation_counts()
    logger.info("corpus annotations of %d retrieval documents", counts.documents)
    return counts


def information_content(
    kind: str,
    tree: MeshTree,
    annotations: AnnotationCounts | None,
    category: str = "letter",
    cache_dir: str | None = None,
) -> InformationContent:
    if kind == "intrinsic":
        return InformationContent.intrinsic(tree, category=category, cache_dir=cache_dir)
    if annotations is None:
        raise ValueError(
            "scoring.information_content 'corpus' needs a local retrieval corpus "
            "(retrieval.method bm25, dense or hybrid)"
        )
    return InformationContent.from_corpus(tree, annotations, category=category)


def build_scorers(
    tree: MeshTree,
    scoring: Mapping[str, Any],
    annotations: AnnotationCounts | None,
    cache_dir: str | None = None,
) -> dict[str, HeadingSetScorer]:
    """One scorer per recorded measure, all with the configured exclusions; ``cache_dir``
    keeps the intrinsic information content for the next job (``mesh.cache_dir``)."""
    excluded = excluded_headings(
        scoring.get("exclude_headings") or [], scoring.get("check_tags_file") or ""
    )
    ic = information_content(
        scoring["information_content"],
        tree,
        annotations,
        scoring.get("category", "letter"),
        cache_dir,
    )
    scorers: dict[str, HeadingSetScorer] = {
        measure: SimilarityScorer(tree, ic, measure, exclude=excluded) for measure in MEASURES
    }
    if annotations is not None:
        kailin_ic = KailinInformationContent(tree, annotations)
        scorers[KAILIN_MEASURE] = KailinScorer(tree, kailin_ic, exclude=excluded)
    elif scoring["measure"] == KAILIN_MEASURE:
        raise ValueError(
            "scoring.measure 'kailin' needs a local retrieval corpus "
            "(retrieval.method bm25, dense or hybrid)"
        )
    return scorers


def selection_settings(selection: Mapping[str, Any]) -> SelectionSettings:
    return SelectionSettings.from_mapping({k: v for k, v in selection.items() if k != "dedup"})


def hierarchy_scores(
    scorers: Mapping[str, HeadingSetScorer],
    source_uis: Sequence[str],
    documents: Sequence[RetrievedDocument],
    set_method: str,
) -> dict[str, float]:
    retrieved = [list(doc.mesh_uis) for doc in documents]
    return {
        measure: round(scorer.retrieval_score(source_uis, retrieved, method=set_method), 12)
        for measure, scorer in scorers.items()
    }


def run(
    *,
    descriptor: Mapping[str, Any],
    questions_path: str,
    abstracts_path: str,
    index_dirs: Sequence[str],
    retrieval: Mapping[str, Any],
    scoring: Mapping[str, Any],
    selection: Mapping[str, Any],
    judge: Mapping[str, Any],
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    mesh_source: str,
    mesh_cache: str,
    entrez: Mapping[str, Any],
    threads: int | None,
    output: str,
    logger: logging.Logger,
) -> int:
    questions = list(read_jsonl(questions_path))
    sources = {a.pmid: a for a in (Article.from_dict(r) for r in read_jsonl(abstracts_path))}
    tree = MeshTree.load(mesh_source, cache_dir=mesh_cache)
    measure = scoring["measure"]
    k = int(retrieval["k"])
    judge_role = Role.from_config("judge", judge, models)
    retrieved: dict[int, list[RetrievedDocument]] = {}
    to_judge: list[tuple[str, str, str]] = []
    with open_retriever(retrieval, index_dirs, entrez, logger) as retriever:
        scorers = build_scorers(
            tree, scoring, corpus_annotations(retriever, logger), cache_dir=mesh_cache
        )
        for index, record in enumerate(questions):
            if record["question"] is None:
                continue
            source = sources[record["pmid"]]
            retrieved[index] = retriever.search(record["question"], k, exclude_pmids={source.pmid})
            to_judge.append((str(index), source.abstract, record["question"]))
    by_model = {judge_role.model_id: judge_requests(judge_role, to_judge)}
    judged = run_role_requests(
        by_model,
        models,
        llm,
        stage="judge",
        descriptor=descriptor["ui"],
        threads=threads,
        logger=logger,
    )

    weights = selection_settings(selection)
    scored = []
    for index, record in enumerate(questions):
        out = dict(record, retrieval=None, judge=None, scores=None)
        if index in retrieved:
            documents = retrieved[index]
            by_measure = hierarchy_scores(
                scorers, sources[record["pmid"]].heading_uis, documents, scoring["set_method"]
            )
            self_eval, judge_call = self_evaluation(judge_role, str(index), judged)
            self_eval_value = self_eval_score(self_eval)
            out["retrieval"] = {
                "method": retrieval["method"],
                "k": k,
                "documents": [
                    {
                        "pmid": d.pmid,
                        "rank": d.rank,
                        "score": round(float(d.score), 6),
                        "mesh_uis": list(d.mesh_uis),
                    }
                    for d in documents
                ],
            }
            out["judge"] = judge_call
            out["scores"] = {
                "hierarchy": by_measure[measure],
                "hierarchy_measure": measure,
                "hierarchy_by_measure": by_measure,
                "self_eval": self_eval,
                "self_eval_score": self_eval_value,
                "combined": round(
                    combined_score(by_measure[measure], self_eval_value, weights), 12
                ),
            }
        scored.append(out)
    return write_jsonl(output, scored, SCORED_SCHEMA)
