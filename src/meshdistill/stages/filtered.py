"""Stage 4: chosen/rejected question pairs that pass thresholds and dedup, with answers written
from the retrieved context and the source abstract."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.dedup import NearDuplicateFilter
from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.llm.service import LLMRequest
from meshdistill.records import Article
from meshdistill.retrieval import Retriever
from meshdistill.selection import PairChoice, select_pairs
from meshdistill.stages.llm_roles import Role, call_record, run_role_requests
from meshdistill.stages.retrieval_setup import open_retriever
from meshdistill.stages.scored import selection_settings

PAIR_SCHEMA = "pair_record.schema.json"
DROPPED_SCHEMA = "dropped_record.schema.json"


def context_documents(
    retriever: Retriever, question: str, source_pmid: str, k: int, max_chars: int
) -> list[dict[str, str]]:
    """The chosen question's retrieved documents (title and truncated text), in rank order.

    Retrieval is deterministic (and cached for PubMed), so searching again yields the documents
    the scored stage recorded, with their text, whatever the retriever."""
    documents = retriever.search(question, k, exclude_pmids={source_pmid})
    return [{"pmid": d.pmid, "title": d.title, "text": d.text[:max_chars]} for d in documents]


def render_context(source: Article, documents: Sequence[Mapping[str, str]]) -> str:
    blocks = [f"[Source PMID {source.pmid}] {source.title}\n{source.abstract}"]
    blocks += [f"[PMID {d['pmid']}] {d['title']}\n{d['text']}" for d in documents]
    return "\n\n".join(blocks)


def side(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "generator": record["generator"],
        "question": record["question"],
        "generation": record["generation"],
        "retrieved_pmids": [d["pmid"] for d in record["retrieval"]["documents"]],
        "scores": record["scores"],
        "judge_cache_key": (record.get("judge") or {}).get("cache_key"),
    }


def dedup_filter(selection: Mapping[str, Any]) -> NearDuplicateFilter:
    return NearDuplicateFilter(**selection["dedup"])


def run(
    *,
    descriptor: Mapping[str, Any],
    scored_path: str,
    abstracts_path: str,
    index_dirs: Sequence[str],
    selection: Mapping[str, Any],
    retrieval: Mapping[str, Any],
    answerer: Mapping[str, Any],
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    entrez: Mapping[str, Any],
    config_hash: str,
    threads: int | None,
    pairs_output: str,
    dropped_output: str,
    logger: logging.Logger,
) -> int:
    scored = list(read_jsonl(scored_path))
    sources = {a.pmid: a for a in (Article.from_dict(r) for r in read_jsonl(abstracts_path))}
    choices, selection_drops = select_pairs(
        scored, selection_settings(selection), dedup_filter(selection)
    )
    dropped: list[dict[str, Any]] = [dict(d) for d in selection_drops]
    max_chars = int(retrieval["max_context_chars"])
    role = Role.from_config("answerer", answerer)
    contexts: dict[str, list[dict[str, str]]] = {}
    by_model: dict[str, list[LLMRequest]] = defaultdict(list)
    with open_retriever(retrieval, index_dirs, entrez, logger) as retriever:
        for choice in choices:
            source = sources[choice.pmid]
            documents = context_documents(
                retriever, choice.chosen["question"], source.pmid, int(retrieval["k"]), max_chars
            )
            if [d["pmid"] for d in documents] != side(choice.chosen)["retrieved_pmids"]:
                logger.warning("retrieval for %s changed since scoring", choice.pmid)
            contexts[choice.pmid] = documents
            by_model[role.model_id].append(
                role.request(
                    choice.pmid,
                    context=render_context(source, documents),
                    question=choice.chosen["question"],
                )
            )
    answers = run_role_requests(
        by_model,
        models,
        llm,
        stage="answers",
        descriptor=descriptor["ui"],
        threads=threads,
        logger=logger,
    )

    pairs = []
    for choice in choices:
        result = answers[choice.pmid]
        answer_text = (result.value or {}).get("answer")
        if not isinstance(answer_text, str) or not answer_text.strip():
            dropped.append(
                {
                    "descriptor_ui": descriptor["ui"],
                    "pmid": choice.pmid,
                    "reason": "answer_failed",
                    "detail": result.error or "empty answer",
                    "generation": call_record(result, role),
                }
            )
            continue
        pairs.append(
            pair_record(
                descriptor,
                sources[choice.pmid],
                choice,
                contexts[choice.pmid],
                answer_text.strip(),
                call_record(result, role),
                config_hash,
            )
        )
    write_jsonl(dropped_output, dropped, DROPPED_SCHEMA)
    logger.info("%s: %d pairs kept, %d dropped", descriptor["ui"], len(pairs), len(dropped))
    return write_jsonl(pairs_output, pairs, PAIR_SCHEMA)


def pair_record(
    descriptor: Mapping[str, Any],
    source: Article,
    choice: PairChoice,
    context: list[dict[str, str]],
    answer: str,
    answer_call: dict[str, Any],
    config_hash: str,
) -> dict[str, Any]:
    return {
        "id": f"{descriptor['ui']}:{source.pmid}",
        "descriptor": dict(descriptor),
        "source": {
            "pmid": source.pmid,
            "title": source.title,
            "abstract": source.abstract,
            "mesh_uis": source.heading_uis,
            "year": source.year,
            "journal": source.journal,
        },
        "chosen": side(choice.chosen),
        "rejected": side(choice.rejected),
        "margin": round(choice.margin, 12),
        "context": context,
        "answer": {"text": answer, "generation": answer_call},
        "config_hash": config_hash,
    }
