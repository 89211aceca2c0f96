"""Stage 2: every generator writes one question per abstract.

A generator may take up to ``max_candidates`` tries per abstract: each try samples with the next
seed, and the first question that passes the quality gates is kept. The rejected tries stay in
the record with the gate that stopped them (and their token use), so nothing paid for is hidden
and a rerun replays them from the cache.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.llm.types import LLMRequest
from meshdistill.quality import QualitySettings, question_verdict
from meshdistill.records import Article
from meshdistill.stages.llm_roles import Role, call_record, run_role_requests

QUESTION_SCHEMA = "question_record.schema.json"


def request_id(pmid: str, generator_id: str, candidate: int = 0) -> str:
    return f"{pmid}|{generator_id}|{candidate}"


def generator_roles(
    generators: Sequence[Mapping[str, Any]], models: Mapping[str, Mapping[str, Any]]
) -> list[Role]:
    return [Role.from_config(f"generator:{g['id']}", g, models) for g in generators]


def question_request(
    role: Role, article: Article, generator_id: str, descriptor_name: str, candidate: int = 0
) -> LLMRequest:
    return role.request(
        request_id(article.pmid, generator_id, candidate),
        candidate,
        title=article.title,
        abstract=article.abstract,
        descriptor_name=descriptor_name,
    )


def clean_question(text: str) -> str:
    """One line of white-space-normalised text (a reply may carry stray spaces or quotes)."""
    return " ".join(text.split()).strip('"')


def run(
    *,
    descriptor: Mapping[str, Any],
    abstracts_path: str,
    generators: Sequence[Mapping[str, Any]],
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    quality: Mapping[str, Any],
    threads: int | None,
    output: str,
    logger: logging.Logger,
) -> int:
    articles = [Article.from_dict(r) for r in read_jsonl(abstracts_path)]
    gates = QualitySettings.from_mapping(quality)
    roles = generator_roles(generators, models)
    ids = [g["id"] for g in generators]
    # What a question must not repeat or echo, per generator (the same for every try).
    by_id = dict(zip(ids, roles, strict=True))
    examples = {gid: role.prompt.example_values("question") for gid, role in by_id.items()}
    instructions = {gid: role.instruction_texts() for gid, role in by_id.items()}
    # (pmid, generator) -> the kept record, or the running record of rejected tries.
    records: dict[tuple[str, str], dict[str, Any]] = {
        (a.pmid, gid): {
            "descriptor_ui": descriptor["ui"],
            "pmid": a.pmid,
            "generator": gid,
            "question": None,
            "generation": None,
            "rejected_candidates": [],
        }
        for a in articles
        for gid in ids
    }
    pending = [(a, gid, role) for a in articles for gid, role in zip(ids, roles, strict=True)]
    candidate = 0
    while pending:
        by_model: dict[str, list[LLMRequest]] = defaultdict(list)
        for article, gid, role in pending:
            by_model[role.model_id].append(
                question_request(role, article, gid, descriptor["name"], candidate)
            )
        results = run_role_requests(
            by_model,
            models,
            llm,
            stage="questions",
            descriptor=descriptor["ui"],
            threads=threads,
            logger=logger,
            all_failed_is_error=candidate == 0,
        )
        still_pending = []
        for article, gid, role in pending:
            result = results[request_id(article.pmid, gid, candidate)]
            record = records[article.pmid, gid]
            text = clean_question(result.text) if result.text is not None else None
            verdict = None
            if text is not None:
                verdict = question_verdict(
                    text,
                    title=article.title,
                    abstract=article.abstract,
                    example_questions=examples[gid],
                    instruction_texts=instructions[gid],
                    settings=gates,
                )
            if text is not None and verdict is None:
                record["question"] = text
                record["generation"] = call_record(result, role)
                continue
            gate = verdict.gate if verdict is not None else "question_failed"
            detail = verdict.detail if verdict is not None else (result.error or "no reply")
            record["rejected_candidates"].append(
                {
                    "question": text,
                    "gate": gate,
                    "detail": detail,
                    "generation": call_record(result, role, error=f"{gate}: {detail}"),
                }
            )
            if candidate + 1 < role.max_candidates:
                still_pending.append((article, gid, role))
        pending = still_pending
        candidate += 1

    ordered = [records[a.pmid, gid] for a in articles for gid in ids]
    for record in ordered:
        if record["question"] is None:
            # No try passed: the record is the last try's, and says which gate stopped it.
            last = record["rejected_candidates"][-1]
            record["generation"] = last["generation"]
    failed = sum(1 for r in ordered if r["question"] is None)
    if failed:
        logger.warning(
            "%d of %d questions for %s failed every try (gates and raw replies in %s)",
            failed,
            len(ordered),
            descriptor["ui"],
            output,
        )
    return write_jsonl(output, ordered, QUESTION_SCHEMA)
