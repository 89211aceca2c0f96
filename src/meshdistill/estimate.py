"""Estimate the LLM calls, tokens and cost that the pending work would need.

Every request the workflow would send is built from what exists so far: exactly where the
upstream file exists (abstracts for questions, questions for the judge, scored questions for the
answerer), and otherwise from stand-ins of typical size. Requests already answered in the
persistent cache cost nothing, so the figures are what a run would pay now, whatever changed.
Completion tokens assume each request uses its full ``max_tokens`` (an upper bound). Only
first tries count: a question or answer that fails the quality gates and is asked again with the
next seed (``max_candidates``) costs more than estimated.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill import settings as cfg
from meshdistill.jsonl import read_jsonl
from meshdistill.llm.accounting import RequestEstimate, estimate_requests
from meshdistill.llm.cache import RequestCache
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.types import LLMRequest
from meshdistill.records import AbstractSection, Article
from meshdistill.stages.filtered import answer_request
from meshdistill.stages.judging import judge_requests
from meshdistill.stages.llm_roles import Role
from meshdistill.stages.questions import generator_roles, question_request
from meshdistill.workflow import Target, load_mesh, resolve_targets

# Stand-ins for text that does not exist yet (typical sizes on PubMed abstracts).
PLACEHOLDER_QUESTION = "Which outcome did the intervention change in the studied population? " * 2
PLACEHOLDER_ABSTRACT_CHARS = 1500


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    model: str
    exact: bool
    estimate: RequestEstimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "model": self.model,
            "exact": self.exact,
            **self.estimate.to_dict(),
        }


def _articles(
    config: Mapping[str, Any], target: Target, workdir: Path, tree: Any
) -> tuple[list[Article], bool]:
    path = workdir / f"results/abstracts/{target.ui}.jsonl"
    if path.exists():
        return [Article.from_dict(r) for r in read_jsonl(path)], True
    settings = cfg.section_for(config, "abstracts", target.ui)
    if settings["source"] == "local":
        from meshdistill.corpus import MANIFEST_FILE, CorpusTable
        from meshdistill.corpus.layout import corpus_folder, corpus_name
        from meshdistill.stages.abstracts import from_corpus_table, from_local_corpus

        logger = logging.getLogger("meshdistill.estimate")
        built = workdir / corpus_folder(corpus_name(config, target.ui) or "")
        if (built / MANIFEST_FILE).is_file():  # the workflow's corpus table: a lookup
            return from_corpus_table(CorpusTable(built), target.ui, settings, logger), True
        local = settings["local"]
        articles = from_local_corpus(
            [str(workdir / p) for p in local["paths"]],
            local.get("format", "auto"),
            target.ui,
            settings,
            tree,
            logger,
        )
        return articles, True
    stand_in = Article(
        pmid="0",
        title=target.name,
        abstract_sections=[AbstractSection(None, "x" * PLACEHOLDER_ABSTRACT_CHARS)],
        mesh_headings=[],
    )
    return [stand_in] * int(settings["max_abstracts"]), False


def _questions_requests(
    config: Mapping[str, Any], target: Target, articles: Sequence[Article]
) -> dict[str, list[LLMRequest]]:
    by_model: dict[str, list[LLMRequest]] = defaultdict(list)
    generators = config["generators"]
    for generator, role in zip(
        generators, generator_roles(generators, config["models"]), strict=True
    ):
        for article in articles:
            by_model[role.model_id].append(
                question_request(role, article, generator["id"], target.name)
            )
    return by_model


def _judge_requests(
    config: Mapping[str, Any], target: Target, articles: Sequence[Article], workdir: Path
) -> tuple[dict[str, list[LLMRequest]], bool]:
    role = Role.from_config("judge", config["judge"], config["models"])
    path = workdir / f"results/questions/{target.ui}.jsonl"
    sources = {a.pmid: a for a in articles}
    items: list[tuple[str, str, str]] = []
    if path.exists():
        for index, record in enumerate(read_jsonl(path)):
            if record["question"] and record["pmid"] in sources:
                items.append((str(index), sources[record["pmid"]].abstract, record["question"]))
        return {role.model_id: judge_requests(role, items)}, True
    for article in articles:
        for index, _ in enumerate(config["generators"]):
            items.append((f"{article.pmid}|{index}", article.abstract, PLACEHOLDER_QUESTION))
    return {role.model_id: judge_requests(role, items)}, False


def _answer_requests(
    config: Mapping[str, Any], target: Target, articles: Sequence[Article]
) -> dict[str, list[LLMRequest]]:
    if cfg.answer_method(config["answerer"]) == "extract":
        return {}  # answers are taken from the source: no model call
    role = Role.from_config("answerer", config["answerer"], config["models"])
    retrieval = cfg.section_for(config, "retrieval", target.ui)
    stand_in = {"pmid": "0", "title": "", "text": "x" * int(retrieval["max_context_chars"])}
    documents = [stand_in] * min(int(retrieval["k"]), int(retrieval["answer_documents"]))
    requests = [
        answer_request(role, article, PLACEHOLDER_QUESTION, documents, 0) for article in articles
    ]
    return {role.model_id: requests}


def estimate(config: Mapping[str, Any], workdir: Path = Path(".")) -> list[StageEstimate]:
    tree = load_mesh(config)
    targets = resolve_targets(config, tree)
    cache_path = workdir / config["llm"]["cache_path"]
    cache = (
        RequestCache(cache_path)
        if cache_path.exists() and config["llm"]["cache_mode"] == "use"
        else None
    )
    pending: dict[tuple[str, str], list[LLMRequest]] = defaultdict(list)
    exact: dict[tuple[str, str], bool] = defaultdict(lambda: True)
    for target in targets:
        articles, known = _articles(config, target, workdir, tree)
        for model_id, requests in _questions_requests(config, target, articles).items():
            pending["questions", model_id] += requests
            exact["questions", model_id] &= known
        judge, judge_exact = _judge_requests(config, target, articles, workdir)
        for model_id, requests in judge.items():
            pending["judge", model_id] += requests
            exact["judge", model_id] &= known and judge_exact
        for model_id, requests in _answer_requests(config, target, articles).items():
            pending["answers", model_id] += requests
            exact["answers", model_id] = False
    results = []
    stage_order = {"questions": 0, "judge": 1, "answers": 2}
    for (stage, model_id), requests in sorted(
        pending.items(), key=lambda item: (stage_order[item[0][0]], item[0][1])
    ):
        spec = ModelSpec.from_config(model_id, config["models"][model_id])
        results.append(
            StageEstimate(
                stage, model_id, exact[stage, model_id], estimate_requests(requests, spec, cache)
            )
        )
    if cache is not None:
        cache.close()
    return results


def format_table(rows: Sequence[StageEstimate]) -> str:
    header = (
        f"{'stage':<10} {'model':<20} {'requests':>8} {'cached':>7} {'calls':>6} "
        f"{'prompt tok':>11} {'output tok':>11} {'cost USD':>9}  basis"
    )
    lines = [header, "-" * len(header)]
    total_calls = total_cost = 0.0
    for row in rows:
        e = row.estimate
        total_calls += e.calls
        total_cost += e.cost_usd
        lines.append(
            f"{row.stage:<10} {row.model:<20} {e.requests:>8} {e.cached:>7} {e.calls:>6} "
            f"{e.prompt_tokens:>11} {e.completion_tokens:>11} {e.cost_usd:>9.4f}  "
            f"{'exact prompts' if row.exact else 'typical sizes'}"
        )
    lines.append(
        f"total: {int(total_calls)} calls to pay, at most {total_cost:.4f} USD "
        "(output tokens counted at max_tokens)"
    )
    return "\n".join(lines)


def to_json(rows: Sequence[StageEstimate]) -> str:
    return json.dumps([row.to_dict() for row in rows], indent=2, sort_keys=True)
