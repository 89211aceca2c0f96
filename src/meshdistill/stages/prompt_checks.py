"""Parse-time checks of the prompt files each LLM role uses, so ``snakemake -n`` reports a prompt
that cannot work before any request is paid for."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError, MeshDistillError
from meshdistill.llm.models import ModelSpec
from meshdistill.llm.prompts import PromptTemplate
from meshdistill.schemas import schemas_dir
from meshdistill.selection import SELF_EVAL_CRITERIA

#: Per role: the placeholders its prompt must use (the stage fills more, but without these the
#: model never sees what it is asked about) and the reply schema a JSON reply must follow.
ROLE_NEEDS: dict[str, tuple[frozenset[str], str]] = {
    "generator": (frozenset({"abstract"}), "llm_question.schema.json"),
    "judge": (frozenset({"abstract", "question"}), "llm_judge.schema.json"),
    "answerer": (frozenset({"context", "question"}), "llm_answer.schema.json"),
}

#: Placeholders each role's stage fills; a prompt asking for anything else cannot be rendered.
ROLE_FIELDS: dict[str, frozenset[str]] = {
    "generator": frozenset({"title", "abstract", "descriptor_name"}),
    "judge": frozenset({"abstract", "question", "criterion"}),
    "answerer": frozenset({"context", "question"}),
}


def check_role_prompts(config: Mapping[str, Any], workdir: str | Path = ".") -> None:
    """Load every role's prompt in its model's prompt mode; :class:`ConfigError` names the role
    setting and says what to change."""
    root = Path(workdir)
    roles: list[tuple[str, str, Mapping[str, Any]]] = [
        (f"generators[{i}].prompt", "generator", g)
        for i, g in enumerate(config.get("generators") or [])
    ]
    roles += [("judge.prompt", "judge", config["judge"])]
    roles += [("answerer.prompt", "answerer", config["answerer"])]
    for setting, kind, role in roles:
        model_id = role["model"]
        mode = ModelSpec.from_config(model_id, config["models"][model_id]).effective_prompt_mode
        try:
            prompt = PromptTemplate.load(root / role["prompt"])
            block = prompt.mode(mode)
            fields = prompt.fields(mode)
        except MeshDistillError as exc:
            raise ConfigError(setting, str(exc)) from None
        needed, schema = ROLE_NEEDS[kind]
        missing = sorted(needed - fields)
        if missing:
            raise ConfigError(
                setting,
                f"the '{mode}' block of {role['prompt']} never uses "
                f"{', '.join('{' + m + '}' for m in missing)}; add the placeholder(s)",
            )
        unknown = sorted(fields - ROLE_FIELDS[kind])
        if unknown:
            raise ConfigError(
                setting,
                f"the '{mode}' block of {role['prompt']} uses {', '.join(unknown)}, which the "
                f"{kind} stage does not fill (it fills {', '.join(sorted(ROLE_FIELDS[kind]))})",
            )
        if block.reply == "json" and block.response_schema != schema:
            if not (schemas_dir() / str(block.response_schema)).is_file():
                problem = f"names response_schema '{block.response_schema}', not in schemas/"
            else:
                problem = f"names response_schema '{block.response_schema}'"
            raise ConfigError(setting, f"{role['prompt']} {problem}; the {kind} needs '{schema}'")
        if block.reply == "rating" and kind != "judge":
            raise ConfigError(setting, f"{role['prompt']}: only the judge can reply with a rating")
        if kind != "judge" and block.reply != "text":
            raise ConfigError(setting, f"{role['prompt']}: the {kind} must reply with text")
        if kind == "judge" and block.reply == "rating":
            try:
                criteria_of_prompt(prompt)
            except ValueError as exc:
                raise ConfigError(setting, str(exc)) from None


def criteria_of_prompt(prompt: PromptTemplate) -> None:
    """A rating judge needs a yes/no question for every self-evaluation criterion."""
    missing = [c for c in SELF_EVAL_CRITERIA if c not in (prompt.criteria or {})]
    if missing:
        raise ValueError(f"{prompt.path}: 'criteria' must define {', '.join(missing)}")
