"""Subprocess used by the cross-process tests: answers N requests against a server, prints a
JSON summary. Usage: llm_worker_script.py BASE_URL CACHE_PATH N CONCURRENCY"""

from __future__ import annotations

import json
import sys

from meshdistill.llm import LLMRequest, LLMService, ModelSpec, RequestCache


def make_requests(count: int) -> list[LLMRequest]:
    return [
        LLMRequest(
            id=f"item-{i:04d}",
            messages=[
                {"role": "system", "content": "Reply with JSON."},
                {"role": "user", "content": f"Abstract number {i} about hypertension."},
            ],
            schema_name="llm_question.schema.json",
            params={"temperature": 0.0, "max_tokens": 64, "seed": 7},
        )
        for i in range(count)
    ]


def main() -> int:
    base_url, cache_path, count, concurrency = sys.argv[1:5]
    spec = ModelSpec(
        id="worker",
        provider="openai",
        model="test-model",
        base_url=base_url,
        max_concurrency=int(concurrency),
        retry_base_delay_s=0.01,
    )
    cache = RequestCache(cache_path)
    try:
        results = LLMService(spec, cache).run(make_requests(int(count)))
    finally:
        cache.close()
    summary = {
        "ok": sum(r.ok for r in results),
        "from_cache": sum(r.from_cache for r in results),
        "values": [r.value for r in results],
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
