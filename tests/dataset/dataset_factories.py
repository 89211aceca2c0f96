"""Hand-built scored and pair records (valid against their schemas) for the dataset tests."""

from __future__ import annotations

import hashlib
from typing import Any

from meshdistill.stages.filtered import side

CONFIG_HASH = hashlib.sha256(b"config").hexdigest()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def llm_call(model: str, prompt: str, key: str, status: str = "ok") -> dict[str, Any]:
    return {
        "model": model,
        "prompt": {"name": prompt, "version": 1, "sha256": sha(prompt)},
        "status": status,
        "error": None if status == "ok" else "reply did not match schema",
        "raw_reply": None,
        "cache_key": sha(key),
        "usage": {"prompt_tokens": 100, "completion_tokens": 20},
    }


def scores(hierarchy: float, self_eval: dict[str, int] | None) -> dict[str, Any]:
    return {
        "hierarchy": hierarchy,
        "hierarchy_measure": "lin",
        "hierarchy_by_measure": {"lin": hierarchy, "jiang": hierarchy / 2},
        "self_eval": self_eval,
        "self_eval_score": None,
        "combined": None,
    }


def scored(
    pmid: str,
    generator: str,
    question: str | None,
    hierarchy: float = 0.5,
    self_eval: dict[str, int] | None = None,
    *,
    descriptor_ui: str = "D003920",
    status: str = "ok",
) -> dict[str, Any]:
    model = {"gen_a": "model-a", "gen_b": "model-b", "gen_c": "model-c"}.get(generator, "model-x")
    failed = status != "ok" or question is None
    return {
        "descriptor_ui": descriptor_ui,
        "pmid": pmid,
        "generator": generator,
        "question": question,
        "generation": llm_call(model, f"question_{generator}", f"{pmid}{generator}", status),
        "rejected_candidates": [],
        "retrieval": None
        if failed
        else {
            "method": "bm25",
            "k": 4,
            "documents": [{"pmid": "900", "rank": 1, "score": 3.5, "mesh_uis": ["D003924"]}],
        },
        "judge": None if failed else llm_call("judge-model", "judge", f"judge{pmid}{generator}"),
        "scores": None if failed else scores(hierarchy, self_eval),
    }


GOOD = {"relevance": 5, "answerability": 4, "specificity": 5}
POOR = {"relevance": 2, "answerability": 2, "specificity": 1}


def pair_from_choice(choice: Any, descriptor: dict[str, Any], answer: str) -> dict[str, Any]:
    """A pair_record built the way the workflow's glue builds it (same chosen/rejected sides)."""

    return {
        "id": f"{descriptor['ui']}:{choice.pmid}",
        "descriptor": descriptor,
        "source": {
            "pmid": choice.pmid,
            "title": f"Title of {choice.pmid}",
            "abstract": f"Abstract text of article {choice.pmid} about insulin.",
            "mesh_uis": ["D003920", "D007328"],
            "year": 2016,
            "journal": "Diabetes Care",
        },
        "chosen": side(choice.chosen),
        "rejected": side(choice.rejected),
        "margin": choice.margin,
        "preferred_by": "score",
        "context": [{"pmid": "900", "title": "Context title", "text": "Context text."}],
        "answer": {
            "text": answer,
            "method": "write",
            "generation": llm_call("answer-model", "answer", f"answer{choice.pmid}"),
            "rejected": [],
        },
        "config_hash": CONFIG_HASH,
    }
