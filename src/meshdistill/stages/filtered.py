"""Stage 4: chosen/rejected question pairs that pass thresholds and dedup, with answers written
from the retrieved context and the source abstract."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshdistill.dedup import NearDuplicateFilter
from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.llm.types import LLMRequest
from meshdistill.quality import QualitySettings, Verdict, answer_verdict
from meshdistill.quality.extraction import extract_answer
from meshdistill.quality.quoting import quote_sources
from meshdistill.records import Article
from meshdistill.retrieval import Retriever
from meshdistill.selection import PairChoice, select_pairs
from meshdistill.settings import answer_method
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


def retrieved_contexts(
    retriever: Retriever,
    choices: Sequence[PairChoice],
    k: int,
    max_chars: int,
    logger: logging.Logger,
) -> dict[str, list[dict[str, str]]]:
    """Each chosen question's context documents, by source PMID."""
    contexts = {}
    for choice in choices:
        documents = context_documents(
            retriever, choice.chosen["question"], choice.pmid, k, max_chars
        )
        if [d["pmid"] for d in documents] != side(choice.chosen)["retrieved_pmids"]:
            logger.warning("retrieval for %s changed since scoring", choice.pmid)
        contexts[choice.pmid] = documents
    return contexts


def render_context(source: Article, documents: Sequence[Mapping[str, str]]) -> str:
    """The retrieved documents, then the source abstract last: a small model answers from the
    text nearest the question, which should be the source."""
    blocks = [f"[PMID {d['pmid']}] {d['title']}\n{d['text']}" for d in documents]
    blocks.append(f"[Source PMID {source.pmid}] {source.title}\n{source.abstract}")
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


@dataclass
class Answer:
    """The answer to one chosen question: the first try that passed the gates, or why none did."""

    text: str | None = None
    method: str = "write"
    # the answerer's reply, where the answer quotes the source sentences it rewords
    reply: str | None = None
    # extract: the question's words the extracted sentence holds
    matched_words: tuple[str, ...] = ()
    gate: str = "answer_failed"
    detail: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def answer_request(
    role: Role, source: Article, question: str, documents: Sequence[Mapping[str, str]], n: int
) -> LLMRequest:
    return role.request(
        f"{source.pmid}|{n}", n, context=render_context(source, documents), question=question
    )


def checked_answer(
    reply: str,
    question: str,
    evidence: Sequence[str],
    truncated: bool,
    gates: QualitySettings,
) -> tuple[Verdict | None, str | None]:
    """The first gate ``reply`` fails (and None), or None and the answer to keep: the reply, or
    with ``answer_quotes_source`` the evidence sentences it rewords (which pass the gates too)."""

    def verdict(text: str) -> Verdict | None:
        return answer_verdict(
            text, question=question, evidence=evidence, truncated=truncated, settings=gates
        )

    failed = verdict(reply)
    if failed is not None:
        return failed, None
    if not gates.answer_quotes_source:
        return None, reply
    quote = quote_sources(reply, evidence, gates)
    if quote.text is None:
        if not gates.enabled("answer_unsupported"):
            return None, reply
        return Verdict("answer_unsupported", quote.problem), None
    failed = verdict(quote.text)
    return (failed, None) if failed is not None else (None, quote.text)


def answer_choices(
    choices: Sequence[PairChoice],
    sources: Mapping[str, Article],
    contexts: Mapping[str, list[dict[str, str]]],
    role: Role,
    gates: QualitySettings,
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    descriptor_ui: str,
    threads: int | None,
    logger: logging.Logger,
) -> dict[str, Answer]:
    """Ask for up to ``max_candidates`` answers per chosen question (each with the next seed)
    and keep the first that passes the answer gates; nothing is made up when none does."""
    answers = {choice.pmid: Answer() for choice in choices}
    pending = list(choices)
    for n in range(role.max_candidates):
        if not pending:
            break
        requests = [
            answer_request(role, sources[c.pmid], c.chosen["question"], contexts[c.pmid], n)
            for c in pending
        ]
        results = run_role_requests(
            {role.model_id: requests},
            models,
            llm,
            stage="answers",
            descriptor=descriptor_ui,
            threads=threads,
            logger=logger,
            all_failed_is_error=n == 0,
        )
        still_pending = []
        for choice in pending:
            result = results[f"{choice.pmid}|{n}"]
            answer = answers[choice.pmid]
            source = sources[choice.pmid]
            evidence = [source.title, source.abstract]
            evidence += [part for d in contexts[choice.pmid] for part in (d["title"], d["text"])]
            text = " ".join(result.text.split()) if result.text is not None else None
            verdict, kept = None, text
            if text is not None:
                verdict, kept = checked_answer(
                    text, choice.chosen["question"], evidence, result.truncated, gates
                )
            if kept is not None and verdict is None:
                answer.text = kept
                answer.reply = text if kept != text else None
                answer.calls.append(call_record(result, role))
                continue
            answer.gate = verdict.gate if verdict is not None else "answer_failed"
            answer.detail = verdict.detail if verdict is not None else (result.error or "no reply")
            call = call_record(result, role, error=f"{answer.gate}: {answer.detail}")
            answer.calls.append(call)
            answer.rejected.append(
                {"answer": text, "gate": answer.gate, "detail": answer.detail, "generation": call}
            )
            still_pending.append(choice)
        pending = still_pending
    return answers


def extracted_answers(
    choices: Sequence[PairChoice], sources: Mapping[str, Article], gates: QualitySettings
) -> dict[str, Answer]:
    """Each chosen question's answer taken from its source (``answerer.method: extract``): the
    finding sentence holding most of the question's words, if it passes the answer gates."""
    answers = {}
    for choice in choices:
        source = sources[choice.pmid]
        question = choice.chosen["question"]
        extract = extract_answer(question, source.title, source.abstract, gates)
        answer = Answer(method="extract")
        verdict: Verdict | None = Verdict(extract.gate, extract.problem)
        if extract.text is not None:
            verdict = answer_verdict(
                extract.text,
                question=question,
                evidence=[source.title, source.abstract],
                truncated=False,
                settings=gates,
            )
        if verdict is None:
            answer.text, answer.matched_words = extract.text, extract.matched_words
        else:
            answer.gate, answer.detail = verdict.gate, verdict.detail
            answer.rejected.append(
                {"answer": extract.text, "gate": verdict.gate, "detail": verdict.detail}
            )
        answers[choice.pmid] = answer
    return answers


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
    quality: Mapping[str, Any],
    entrez: Mapping[str, Any],
    config_hash: str,
    threads: int | None,
    pairs_output: str,
    dropped_output: str,
    logger: logging.Logger,
) -> int:
    scored = list(read_jsonl(scored_path))
    sources = {a.pmid: a for a in (Article.from_dict(r) for r in read_jsonl(abstracts_path))}
    gates = QualitySettings.from_mapping(quality)
    settings = selection_settings(selection)
    dedup = dedup_filter(selection)
    choices, selection_drops = select_pairs(scored, settings, dedup, gates)
    dropped: list[dict[str, Any]] = [dict(d) for d in selection_drops]
    max_chars = int(retrieval["max_context_chars"])

    role = Role.from_config("answerer", answerer, models)
    method = answer_method(answerer)
    shown = int(retrieval["answer_documents"])
    k = int(retrieval["k"])

    def answers_for(
        batch: Sequence[PairChoice], contexts: Mapping[str, list[dict[str, str]]]
    ) -> dict[str, Answer]:
        if method == "extract":
            return extracted_answers(batch, sources, gates)
        shown_contexts = {pmid: documents[:shown] for pmid, documents in contexts.items()}
        return answer_choices(
            batch,
            sources,
            shown_contexts,
            role,
            gates,
            models,
            llm,
            descriptor["ui"],
            threads,
            logger,
        )

    with open_retriever(retrieval, index_dirs, entrez, logger) as retriever:
        contexts = retrieved_contexts(retriever, choices, k, max_chars, logger)
        answers = answers_for(choices, contexts)
        # An unanswerable chosen question makes a poor preference; the rejected one may do.
        swaps = []
        if settings.unanswerable_chosen == "swap":
            swaps = [
                c.swapped()
                for c in choices
                if answers[c.pmid].text is None
                and dedup.is_duplicate(f"{c.pair_id} (swapped)", c.rejected["question"]) is None
            ]
        swap_contexts = retrieved_contexts(retriever, swaps, k, max_chars, logger)
    swap_answers = answers_for(swaps, swap_contexts) if swaps else {}

    pairs: list[dict[str, Any]] = []
    for choice in choices:
        answer = answers[choice.pmid]
        preferred_by = "score"
        context = contexts[choice.pmid]
        if answer.text is None and choice.pmid in swap_answers:
            swap_answer = swap_answers[choice.pmid]
            if swap_answer.text is not None:
                logger.info("%s: chosen question unanswerable, pair swapped", choice.pmid)
                swap_answer.rejected[:0] = [
                    {**tried, "question": choice.chosen["question"]} for tried in answer.rejected
                ]
                choice, answer, preferred_by = choice.swapped(), swap_answer, "answerability"
                context = swap_contexts[choice.pmid]
            else:
                answer.rejected.extend(
                    {**tried, "question": choice.rejected["question"]}
                    for tried in swap_answer.rejected
                )
        if answer.text is None:
            dropped.append(
                {
                    "descriptor_ui": descriptor["ui"],
                    "pmid": choice.pmid,
                    "reason": answer.gate,
                    "detail": answer.detail,
                    "question": choice.chosen["question"],
                    "rejected_answers": answer.rejected,
                }
            )
            continue
        pairs.append(
            pair_record(
                descriptor, sources[choice.pmid], choice, context, answer, config_hash, preferred_by
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
    answer: Answer,
    config_hash: str,
    preferred_by: str = "score",
) -> dict[str, Any]:
    answer_record: dict[str, Any] = {"text": answer.text, "method": answer.method}
    if answer.reply is not None:
        answer_record["reply"] = answer.reply
    if answer.matched_words:
        answer_record["matched_words"] = list(answer.matched_words)
    if answer.calls:
        answer_record["generation"] = answer.calls[-1]
    answer_record["rejected"] = answer.rejected
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
        "preferred_by": preferred_by,
        "context": context,
        "answer": answer_record,
        "config_hash": config_hash,
    }
