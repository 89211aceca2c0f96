"""Token and cost accounting per (stage, descriptor, model), a budget cap, and estimates.

Costs are derived from integer token totals when reported, so the numbers written to
``stats.json`` do not depend on the order in which concurrent replies arrived.
Answers served from the request cache are counted (``cached_*``) but cost nothing. Prices are
the billed ones: a model sent through the batch API pays ``batch.price_factor`` of its list price.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshdistill.llm.cache import RequestCache, first_ask_key
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.types import LLMRequest

#: Rough characters per token for English text; good to about +-25 % for estimates.
DEFAULT_CHARS_PER_TOKEN = 4.0
#: Completion length assumed for requests that set no ``max_tokens``.
DEFAULT_COMPLETION_TOKENS = 256
#: Tokens a chat template adds per message (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4
#: Decimal places kept for USD figures in reports.
USD_DECIMALS = 8

_COUNTERS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_requests",
    "cached_prompt_tokens",
    "cached_completion_tokens",
)


def _usd(value: float) -> float:
    return round(value, USD_DECIMALS)


def _cost(counts: Mapping[str, int], price: tuple[float, float]) -> float:
    return (counts["prompt_tokens"] * price[0] + counts["completion_tokens"] * price[1]) / 1e6


class Accountant:
    """Thread-safe ledger; one per job. ``spent_usd_before`` carries cost of earlier jobs so a
    budget spans the whole workflow."""

    def __init__(self, budget_usd: float | None = None, spent_usd_before: float = 0.0) -> None:
        if budget_usd is not None and budget_usd < 0:
            raise ValueError("budget_usd must not be negative")
        self.budget_usd = budget_usd
        self.spent_usd_before = spent_usd_before
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], dict[str, int]] = {}
        self._prices: dict[str, tuple[float, float]] = {}
        self._spent = 0.0
        self._reserved = 0.0

    def record(
        self,
        stage: str,
        descriptor: str,
        spec: ModelSpec,
        prompt_tokens: int,
        completion_tokens: int,
        from_cache: bool,
    ) -> None:
        with self._lock:
            self._prices[spec.id] = spec.billed_prices_per_mtok
            bucket = self._buckets.setdefault(
                (stage, descriptor, spec.id), dict.fromkeys(_COUNTERS, 0)
            )
            prefix = "cached_" if from_cache else ""
            bucket[f"{prefix}requests"] += 1
            bucket[f"{prefix}prompt_tokens"] += prompt_tokens
            bucket[f"{prefix}completion_tokens"] += completion_tokens
            if not from_cache:
                self._spent += spec.cost_usd(prompt_tokens, completion_tokens)

    @property
    def spent_usd(self) -> float:
        """Paid in this ledger (excluding ``spent_usd_before``)."""
        with self._lock:
            return self._spent

    def remaining_usd(self) -> float | None:
        if self.budget_usd is None:
            return None
        with self._lock:
            return self.budget_usd - self.spent_usd_before - self._spent - self._reserved

    def reserve(self, amount_usd: float) -> bool:
        """Claim the estimated cost of a request about to be sent; ``False`` when it would
        take spending past the budget (the request must then not be sent)."""
        with self._lock:
            if self.budget_usd is not None:
                committed = self.spent_usd_before + self._spent + self._reserved
                if committed + amount_usd > self.budget_usd:
                    return False
            self._reserved += amount_usd
            return True

    def release(self, amount_usd: float) -> None:
        """Return a reservation once the actual cost has been recorded."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - amount_usd)

    def merge(self, other: Accountant) -> None:
        """Add another ledger's counts (e.g. from parallel jobs) into this one."""
        with other._lock:
            buckets = {k: dict(v) for k, v in other._buckets.items()}
            prices = dict(other._prices)
        with self._lock:
            self._prices.update(prices)
            for key, counts in buckets.items():
                bucket = self._buckets.setdefault(key, dict.fromkeys(_COUNTERS, 0))
                for name in _COUNTERS:
                    bucket[name] += counts[name]
                self._spent += _cost(counts, prices.get(key[2], (0.0, 0.0)))

    def to_dict(self) -> dict[str, Any]:
        """Deterministic report: sorted entries plus totals by stage, by model and overall."""
        with self._lock:
            buckets = {k: dict(v) for k, v in self._buckets.items()}
            prices = dict(self._prices)

        def summed(items: Iterable[tuple[tuple[str, str, str], dict[str, int]]]) -> dict[str, Any]:
            total = dict.fromkeys(_COUNTERS, 0)
            cost = 0.0
            for key, counts in sorted(items):
                for name in _COUNTERS:
                    total[name] += counts[name]
                cost += _cost(counts, prices[key[2]])
            return {**total, "cost_usd": _usd(cost)}

        entries = [
            {
                "stage": stage,
                "descriptor": descriptor,
                "model": model,
                **counts,
                "cost_usd": _usd(_cost(counts, prices[model])),
            }
            for (stage, descriptor, model), counts in sorted(buckets.items())
        ]
        stages = sorted({k[0] for k in buckets})
        models = sorted({k[2] for k in buckets})
        totals = summed(buckets.items())
        return {
            "budget_usd": self.budget_usd,
            "spent_usd_before": _usd(self.spent_usd_before),
            "total_cost_usd": _usd(self.spent_usd_before + totals["cost_usd"]),
            "totals": totals,
            "by_stage": {
                s: summed((k, v) for k, v in buckets.items() if k[0] == s) for s in stages
            },
            "by_model": {
                m: {
                    **summed((k, v) for k, v in buckets.items() if k[2] == m),
                    "price_input_per_mtok": prices[m][0],
                    "price_output_per_mtok": prices[m][1],
                }
                for m in models
            },
            "entries": entries,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Accountant:
        """Rebuild a ledger from :meth:`to_dict` output (to merge the stats of several jobs)."""
        ledger = cls(budget_usd=data.get("budget_usd"), spent_usd_before=data["spent_usd_before"])
        for model, info in data.get("by_model", {}).items():
            ledger._prices[model] = (
                float(info["price_input_per_mtok"]),
                float(info["price_output_per_mtok"]),
            )
        for entry in data.get("entries", []):
            key = (entry["stage"], entry["descriptor"], entry["model"])
            ledger._buckets[key] = {name: int(entry[name]) for name in _COUNTERS}
            ledger._spent += _cost(ledger._buckets[key], ledger._prices.get(key[2], (0.0, 0.0)))
        return ledger


@dataclass(frozen=True)
class RequestEstimate:
    """Upper-bound style estimate for pending work (completions assume ``max_tokens``)."""

    requests: int
    cached: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cached": self.cached,
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": _usd(self.cost_usd),
        }


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, str]], chars_per_token: float = DEFAULT_CHARS_PER_TOKEN
) -> int:
    """Heuristic prompt size: characters / ``chars_per_token`` plus a per-message overhead."""
    chars = sum(len(str(m.get("content", ""))) for m in messages)
    return int(chars / chars_per_token + 0.999) + MESSAGE_OVERHEAD_TOKENS * len(messages)


def request_texts(request: LLMRequest) -> list[dict[str, str]]:
    """The request's text as messages (a completion prompt counts as one message)."""
    if request.messages is not None:
        return request.messages
    return [{"role": "prompt", "content": request.prompt or ""}]


def estimate_request_cost(
    spec: ModelSpec,
    messages: Sequence[Mapping[str, str]],
    params: Mapping[str, Any],
    default_completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN,
) -> float:
    """Worst-case USD of one request (completion at ``max_tokens``); used to reserve budget."""
    completion = int(params.get("max_tokens", default_completion_tokens))
    return spec.cost_usd(estimate_prompt_tokens(messages, chars_per_token), completion)


def estimate_requests(
    requests: Sequence[LLMRequest],
    spec: ModelSpec,
    cache: RequestCache | None = None,
    default_completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN,
) -> RequestEstimate:
    """Calls, tokens and USD still to pay for ``requests`` on ``spec``.

    Requests already answered in ``cache`` are counted under ``cached`` and cost nothing.
    Prompt tokens use the characters/``chars_per_token`` heuristic; completion tokens assume
    each request uses its full ``max_tokens`` (or ``default_completion_tokens``), so the cost is
    an upper bound for a first ask. Re-asks after invalid replies are not included.
    """
    identity = spec.cache_identity() if cache is not None else {}
    cached = calls = prompt_tokens = completion_tokens = 0
    for request in requests:
        if cache is not None:
            if cache.contains(first_ask_key(identity, request)):
                cached += 1
                continue
        calls += 1
        prompt_tokens += estimate_prompt_tokens(request_texts(request), chars_per_token)
        completion_tokens += int(request.params.get("max_tokens", default_completion_tokens))
    return RequestEstimate(
        requests=len(requests),
        cached=cached,
        calls=calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=spec.cost_usd(prompt_tokens, completion_tokens),
    )
