"""Stage 2: every generator writes one question per abstract."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from meshdistill.jsonl import read_jsonl, write_jsonl
from meshdistill.llm.service import LLMRequest
from meshdistill.records import Article
from meshdistill.stages.llm_roles import Role, call_record, run_role_requests

QUESTION_SCHEMA = "question_record.schema.json"


def request_id(pmid: str, generator_id: str) -> str:
    return f"{pmid}|{generator_id}"


def run(
    *,
    descriptor: Mapping[str, Any],
    abstracts_path: str,
    generators: Sequence[Mapping[str, Any]],
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    threads: int | None,
    output: str,
    logger: logging.Logger,
) -> int:
    articles = [Article.from_dict(r) for r in read_jsonl(abstracts_path)]
    roles = [Role.from_config(f"generator:{g['id']}", g) for g in generators]
    by_model: dict[str, list[LLMRequest]] = defaultdict(list)
    for article in articles:
        for generator, role in zip(generators, roles, strict=True):
            by_model[role.model_id].append(
                role.request(
                    request_id(article.pmid, generator["id"]),
                    title=article.title,
                    abstract=article.abstract,
                    descriptor_name=descriptor["name"],
                )
            )
    results = run_role_requests(
        by_model,
        models,
        llm,
        stage="questions",
        descriptor=descriptor["ui"],
        threads=threads,
        logger=logger,
    )
    records = []
    for article in articles:
        for generator, role in zip(generators, roles, strict=True):
            result = results[request_id(article.pmid, generator["id"])]
            question = (result.value or {}).get("question")
            records.append(
                {
                    "descriptor_ui": descriptor["ui"],
                    "pmid": article.pmid,
                    "generator": generator["id"],
                    "question": " ".join(question.split()) if isinstance(question, str) else None,
                    "generation": call_record(result, role),
                }
            )
    failed = sum(1 for r in records if r["question"] is None)
    if failed:
        logger.warning(
            "%d of %d questions failed for %s (raw replies kept in %s)",
            failed,
            len(records),
            descriptor["ui"],
            output,
        )
    return write_jsonl(output, records, QUESTION_SCHEMA)
