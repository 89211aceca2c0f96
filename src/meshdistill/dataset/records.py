"""Turn a kept pair (``schemas/pair_record.schema.json``) into the published records.

* SFT: chat ``messages`` (``schemas/sft_record.schema.json``): the chosen question, and the
  answer written for it.
* Preference: TRL's DPO ``prompt``/``chosen``/``rejected`` layout
  (``schemas/preference_record.schema.json``): the prompt asks for a question about the
  source abstract; the chosen and rejected questions are the two completions.

Every record carries the same provenance object (``schemas/provenance.schema.json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshdistill.errors import ConfigError

DEFAULT_PREFERENCE_INSTRUCTION = (
    "Read the following biomedical abstract and write one clear, specific question that it "
    "answers.\n\nTitle: {title}\nAbstract: {abstract}"
)
# The placeholders a preference instruction template may use; others are left as written
# so templates can contain literal braces.
PREFERENCE_PLACEHOLDERS = ("title", "abstract", "descriptor_name")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PREFERENCE_PLACEHOLDERS) + r")\}")


def build_provenance(pair: Mapping[str, Any]) -> dict[str, Any]:
    """Where a pair's records came from: source, descriptor, models, prompts, scores, keys."""
    chosen, rejected, answer = pair["chosen"], pair["rejected"], pair["answer"]
    answer_call = answer.get("generation")  # none where the answer was extracted
    return {
        "pmid": pair["source"]["pmid"],
        "descriptor_ui": pair["descriptor"]["ui"],
        "descriptor_name": pair["descriptor"]["name"],
        "tree_numbers": list(pair["descriptor"]["tree_numbers"]),
        "chosen_generator": chosen["generator"],
        "chosen_model": chosen["generation"]["model"],
        "chosen_prompt_sha256": chosen["generation"]["prompt"]["sha256"],
        "rejected_generator": rejected["generator"],
        "rejected_model": rejected["generation"]["model"],
        "rejected_prompt_sha256": rejected["generation"]["prompt"]["sha256"],
        "answer_method": answer["method"],
        "answer_model": answer_call["model"] if answer_call else None,
        "answer_prompt_sha256": answer_call["prompt"]["sha256"] if answer_call else None,
        "scores": {
            "chosen": chosen["scores"],
            "rejected": rejected["scores"],
            "margin": pair["margin"],
            "preferred_by": pair["preferred_by"],
        },
        "config_hash": pair["config_hash"],
        "cache_keys": {
            "chosen": chosen["generation"]["cache_key"],
            "rejected": rejected["generation"]["cache_key"],
            "answer": answer_call["cache_key"] if answer_call else None,
            "chosen_judge": chosen["judge_cache_key"],
            "rejected_judge": rejected["judge_cache_key"],
        },
    }


def format_context(context: list[Mapping[str, Any]]) -> str:
    """Numbered context documents: ``[1] PMID 123: Title`` then the text, blank-line separated."""
    blocks = [
        f"[{number}] PMID {doc['pmid']}: {doc['title']}\n{doc['text']}".rstrip()
        for number, doc in enumerate(context, start=1)
    ]
    return "\n\n".join(blocks)


def to_sft_record(
    pair: Mapping[str, Any],
    system_prompt: str | None = None,
    *,
    include_context: bool = False,
) -> dict[str, Any]:
    """One chat example: [system], user (the chosen question, optionally after a
    ``Context:`` block with the retrieved documents), assistant (the answer).

    Without context the model learns to answer from its own knowledge (KAILIN's use);
    with it, to answer from supplied documents, as the answer writer did.
    """
    question = pair["chosen"]["question"].strip()
    if include_context and pair["context"]:
        user = f"Context:\n{format_context(pair['context'])}\n\nQuestion: {question}"
    else:
        user = question
    messages = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": user})
    messages.append({"role": "assistant", "content": pair["answer"]["text"].strip()})
    return {"id": pair["id"], "messages": messages, "provenance": build_provenance(pair)}


def fill_instruction(template: str, pair: Mapping[str, Any]) -> str:
    if "{abstract}" not in template:
        raise ConfigError("dataset.preference_instruction", "template has no {abstract} field")
    values = {
        "title": pair["source"]["title"].strip(),
        "abstract": pair["source"]["abstract"].strip(),
        "descriptor_name": pair["descriptor"]["name"],
    }
    # One pass, so a title that happens to contain "{abstract}" is not filled in again.
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template).strip()


def to_preference_record(
    pair: Mapping[str, Any], instruction_template: str = DEFAULT_PREFERENCE_INSTRUCTION
) -> dict[str, Any]:
    """One DPO example: the instruction filled with the source abstract, and the two questions."""
    return {
        "id": pair["id"],
        "prompt": fill_instruction(instruction_template, pair),
        "chosen": pair["chosen"]["question"].strip(),
        "rejected": pair["rejected"]["question"].strip(),
        "provenance": build_provenance(pair),
    }
