"""Turn the config's generator/judge/answerer entries into prompts, requests and services."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill.llm.accounting import Accountant
from meshdistill.llm.cache import RequestCache
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.prompts import PromptTemplate
from meshdistill.llm.service import LLMRequest, LLMResult, LLMService
from meshdistill.stages.spend import SpendLedger


@dataclass(frozen=True)
class Role:
    """A configured LLM role: which model, which prompt file, which generation parameters."""

    name: str
    model_id: str
    prompt: PromptTemplate
    params: dict[str, Any]

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any]) -> Role:
        return cls(
            name, cfg["model"], PromptTemplate.load(cfg["prompt"]), dict(cfg.get("params") or {})
        )

    def request(self, request_id: str, **fields: str) -> LLMRequest:
        return LLMRequest(
            id=request_id,
            messages=self.prompt.render(**fields),
            schema_name=self.prompt.response_schema,
            params=dict(self.params),
        )


def open_service(
    model_id: str,
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    *,
    stage: str,
    descriptor: str,
    threads: int | None,
    logger: logging.Logger,
) -> LLMService:
    cfg = dict(models[model_id])
    if cfg.get("provider") == "llama_cpp" and threads:
        cfg["n_threads"] = threads
    spec = ModelSpec.from_config(model_id, cfg)
    cache_path = Path(llm["cache_path"])
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    budget = llm.get("budget_usd")
    spent_before = SpendLedger(cache_path).spent_usd()
    return LLMService(
        spec,
        RequestCache(cache_path),
        cache_mode=llm["cache_mode"],
        max_reasks=int(llm["max_reasks"]),
        accountant=Accountant(budget_usd=budget, spent_usd_before=spent_before),
        stage=stage,
        descriptor=descriptor,
        logger=logger,
    )


def run_role_requests(
    requests_by_model: Mapping[str, Sequence[LLMRequest]],
    models: Mapping[str, Mapping[str, Any]],
    llm: Mapping[str, Any],
    *,
    stage: str,
    descriptor: str,
    threads: int | None,
    logger: logging.Logger,
) -> dict[str, LLMResult]:
    """Run each model's requests through its service; results keyed by request id."""
    results: dict[str, LLMResult] = {}
    for model_id in sorted(requests_by_model):
        requests = list(requests_by_model[model_id])
        if not requests:
            continue
        service = open_service(
            model_id,
            models,
            llm,
            stage=stage,
            descriptor=descriptor,
            threads=threads,
            logger=logger,
        )
        try:
            for result in service.run(requests):
                results[result.id] = result
        finally:
            accountant = service.accountant
            if accountant is not None:
                SpendLedger(llm["cache_path"]).add(accountant.spent_usd)
            service.close()
    return results


def call_record(result: LLMResult, role: Role) -> dict[str, Any]:
    """The provenance of one structured call (schemas/common.schema.json#/$defs/llm_call)."""
    return {
        "model": role.model_id,
        "prompt": {
            "name": role.prompt.name,
            "version": role.prompt.version,
            "sha256": role.prompt.sha256,
        },
        "status": "ok" if result.value is not None else "failed",
        "error": result.error,
        "raw_reply": None if result.value is not None else result.raw,
        "cache_key": result.cache_key,
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
        },
    }
