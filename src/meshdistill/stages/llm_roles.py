"""Turn the config's generator/judge/answerer entries into prompts, requests and services."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill.llm.accounting import Accountant
from meshdistill.llm.cache import RequestCache
from meshdistill.llm.errors import LLMError
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.prompts import ExampleFields, PromptTemplate
from meshdistill.llm.service import LLMService
from meshdistill.llm.types import LLMRequest, LLMResult
from meshdistill.stages.spend import SpendLedger

# Retries grow hotter only up to here: hotter replies of a small model are noise.
MAX_RETRY_TEMPERATURE = 1.0


@dataclass(frozen=True)
class Role:
    """A configured LLM role: which model, which prompt file (in the model's prompt mode), which
    generation parameters, and how many candidates a text reply may take."""

    name: str
    model_id: str
    prompt: PromptTemplate
    params: dict[str, Any]
    mode: str
    max_candidates: int = 1
    # each further candidate samples this much hotter (up to 1.0): at a low temperature a new
    # seed alone mostly repeats the rejected reply word for word
    retry_temperature_step: float = 0.0

    @classmethod
    def from_config(
        cls, name: str, cfg: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]
    ) -> Role:
        model_id = cfg["model"]
        spec = ModelSpec.from_config(model_id, models[model_id])
        prompt = PromptTemplate.load(cfg["prompt"])
        mode = spec.effective_prompt_mode
        prompt.mode(mode)  # a prompt without a block for the model's mode fails here
        return cls(
            name=name,
            model_id=model_id,
            prompt=prompt,
            params=dict(cfg.get("params") or {}),
            mode=mode,
            max_candidates=int(cfg.get("max_candidates", 1)),
            retry_temperature_step=float(cfg.get("retry_temperature_step", 0.0)),
        )

    @property
    def reply(self) -> str:
        return self.prompt.mode(self.mode).reply

    def request(
        self,
        request_id: str,
        candidate: int = 0,
        example_fields: ExampleFields | None = None,
        **fields: str,
    ) -> LLMRequest:
        """The request for one candidate: candidate n samples with ``seed + n`` at
        ``temperature + n * retry_temperature_step`` (at most 1.0, never below the configured
        temperature); the first keeps the configured parameters, so adding candidates never
        changes it."""
        params = dict(self.params)
        if candidate:
            params["seed"] = int(params.get("seed", 0)) + candidate
            if self.retry_temperature_step and "temperature" in params:
                base = float(params["temperature"])
                raised = base + candidate * self.retry_temperature_step
                params["temperature"] = round(max(base, min(raised, MAX_RETRY_TEMPERATURE)), 6)
        return self.prompt.request(request_id, self.mode, params, fields, example_fields)

    def instruction_texts(self) -> list[str]:
        return self.prompt.instruction_texts(self.mode)


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
    ledger = SpendLedger(cache_path)
    spent_before = ledger.spent_usd()
    ledger.check_writable()
    cache = RequestCache(cache_path)
    if llm["cache_mode"] != "bypass":
        cache.check_writable()
    return LLMService(
        spec,
        cache,
        cache_mode=llm["cache_mode"],
        max_reasks=int(llm["max_reasks"]),
        max_reply_chars=int(llm["max_reply_chars"]),
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
    all_failed_is_error: bool = True,
) -> dict[str, LLMResult]:
    """Run each model's requests through its service; results keyed by request id.

    When every request of a model failed (``all_failed_is_error``), the job stops with the
    first error: a setup problem (wrong reply format, server without a feature) rather than bad
    luck, which would otherwise end in an empty dataset and a green run."""
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
            answered = service.run(requests)
        finally:
            accountant = service.accountant
            if accountant is not None:
                SpendLedger(llm["cache_path"]).add(accountant.spent_usd)
            service.close()
        if all_failed_is_error and all(result.value is None for result in answered):
            raise LLMError(
                f"model '{model_id}' stage '{stage}' ({descriptor}): every one of the "
                f"{len(answered)} requests failed, so this is a setup problem rather than bad "
                f"luck; first error: {answered[0].error}"
            )
        for result in answered:
            results[result.id] = result
    return results


def call_record(result: LLMResult, role: Role, error: str | None = None) -> dict[str, Any]:
    """The provenance of one call (schemas/common.schema.json#/$defs/llm_call). ``error``
    marks a reply the model gave but the stage could not use (a failed quality gate)."""
    error = error or result.error
    ok = result.value is not None and error is None
    return {
        "model": role.model_id,
        "prompt": {
            "name": role.prompt.name,
            "version": role.prompt.version,
            "sha256": role.prompt.sha256,
        },
        "status": "ok" if ok else "failed",
        "error": error,
        "raw_reply": None if ok else result.raw,
        "cache_key": result.cache_key,
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
        },
    }
