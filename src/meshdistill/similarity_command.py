"""`meshdistill similarity`: score heading sets without running the workflow.

Each input line is ``{"source": [UI, ...], "retrieved": [[UI, ...], ...]}``; each output line,
in the same order, is ``{"score": float, "document_scores": [float, ...]}``: the retrieval
score (mean set similarity over the retrieved documents) and each document's set similarity.
UIs the MeSH tree does not know, and excluded headings, are dropped as in the workflow.
Corpus files are read only for their MeSH annotations (KAILIN's relative frequencies, or the
textbook corpus information content).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError, InputError
from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.mesh import KAILIN_MEASURE, HeadingSetScorer, MeshTree, build_scorer
from meshdistill.mesh.exclusions import excluded_headings
from meshdistill.pubmed.corpus import load_corpus
from meshdistill.stages.abstracts import name_mapper


def read_pairs(path: str | Path) -> Iterator[tuple[list[str], list[list[str]]]]:
    """(source, retrieved) per line, each checked for shape; errors name the line."""
    if not Path(path).is_file():
        raise InputError(str(path), "input file does not exist")
    for number, record in enumerate(read_jsonl(path), start=1):
        source, retrieved = record.get("source"), record.get("retrieved")
        if not isinstance(source, list) or not _is_ui_list(source):
            raise InputError(str(path), "'source' must be a list of UIs", f"item {number}")
        if not isinstance(retrieved, list) or not all(_is_ui_list(doc) for doc in retrieved):
            raise InputError(
                str(path), "'retrieved' must be a list of lists of UIs", f"item {number}"
            )
        yield list(source), [list(doc) for doc in retrieved]


def _is_ui_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(ui, str) for ui in value)


def corpus_annotations(
    tree: MeshTree, paths: Sequence[str], corpus_format: str
) -> list[list[str]] | None:
    if not paths:
        return None
    articles, _ = load_corpus(list(paths), corpus_format, name_to_ui=name_mapper(tree))
    return [article.heading_uis for article in articles]


def make_scorer(
    *,
    mesh: str,
    corpus: Sequence[str],
    corpus_format: str,
    measure: str,
    information_content: str,
    category: str,
    exclude: Sequence[str],
    check_tags_file: str,
) -> HeadingSetScorer:
    counts_corpus = measure == KAILIN_MEASURE or information_content == "corpus"
    if counts_corpus and not corpus:
        raise ConfigError(
            "--corpus",
            f"--measure {measure} with --information-content {information_content} counts "
            "corpus annotations: give at least one corpus file",
        )
    if not Path(mesh).is_file():
        raise InputError(mesh, "MeSH file does not exist")
    tree = MeshTree.load(mesh)
    annotations = corpus_annotations(tree, corpus, corpus_format) if counts_corpus else None
    return build_scorer(
        tree,
        measure,
        ic_kind=information_content,
        corpus_annotations=annotations,
        category=category,
        exclude=excluded_headings(exclude, check_tags_file),
    )


def score_file(scorer: HeadingSetScorer, input_path: str, output_path: str, set_method: str) -> int:
    """Score every line of ``input_path`` into ``output_path``; returns the line count."""
    results = []
    for source, retrieved in read_pairs(input_path):
        documents = [scorer.set_similarity(source, doc, set_method) for doc in retrieved]
        score = scorer.retrieval_score(source, retrieved, method=set_method)
        results.append({"score": score, "document_scores": documents})
    return write_jsonl(output_path, results)
