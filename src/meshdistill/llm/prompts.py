"""Versioned prompt files (``prompts/*.yaml``) and their rendering into requests.

A prompt file says, per *prompt mode*, how a role talks to a model::

    name: question_general
    version: 2
    description: ...
    examples:                  # worked examples written for this project (optional)
      - {title: ..., abstract: ..., question: ...}
    chat:                      # instruction-tuned models and chat endpoints
      reply: text              # text | json | rating
      stop: ["\\n"]
      system: ...
      user: ...
    completion:                # base models: one plain-text prompt the model continues
      reply: text
      stop: ["\\n"]
      example: "Title: {title}\\nAbstract: {abstract}\\nQuestion: {question}\\n"
      prompt: "{examples}\\nTitle: {title}\\nAbstract: {abstract}\\nQuestion:"

A file supports the modes it has blocks for. ``reply: json`` needs ``response_schema`` (a file
in ``schemas/``); ``reply: rating`` needs ``ratings`` (answer token -> value, e.g.
``{"Yes": 5, "No": 1}``). ``{examples}`` is every worked example rendered with ``example`` and
joined by blank lines. Templates are Python ``str.format`` strings, so literal braces are
doubled. The file's SHA-256 goes into every record's provenance, so any edit to a prompt is
visible downstream and changes the request cache key.

The first layout (``system``, ``user`` and ``response_schema`` at the top) still loads, as a
chat-only prompt with a JSON reply.
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshdistill.errors import InputError
from meshdistill.llm.types import PROMPT_MODES, REPLY_KINDS, LLMRequest

#: The placeholder filled with the rendered worked examples.
EXAMPLES_FIELD = "examples"

ExampleFields = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _template_fields(template: str, source: str, key: str) -> frozenset[str]:
    """Names of the ``{field}`` placeholders; rejects positional or attribute placeholders."""
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(source, f"'{key}' is not a valid format template: {exc}") from exc
    for _literal, field, _spec, _conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise InputError(
                source,
                f"'{key}' placeholder '{{{field}}}' must be a plain name (double literal braces)",
            )
        fields.add(field)
    return frozenset(fields)


def _literal_text(template: str) -> str:
    """A template's own words, placeholders left out (what a reply must not echo)."""
    return " ".join(literal for literal, *_ in string.Formatter().parse(template))


def _text(data: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(source, f"key '{where}{key}' is missing or not a non-empty string")
    return value


@dataclass(frozen=True)
class PromptMode:
    """How one prompt mode renders: chat messages or one completion prompt, and its reply."""

    mode: str
    reply: str
    system: str = ""
    user: str = ""
    prompt: str = ""
    example: str = ""
    stop: tuple[str, ...] = ()
    response_schema: str | None = None
    ratings: Mapping[str, float] | None = None
    #: The placeholders its templates need filled (``examples`` is filled from the file).
    placeholders: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, mode: str, data: Any, source: str) -> PromptMode:
        where = f"{mode}."
        if not isinstance(data, Mapping):
            raise InputError(source, f"key '{mode}' must be a mapping")
        known = {"reply", "system", "user", "prompt", "example", "stop", "response_schema"}
        known.add("ratings")
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(source, f"unknown key '{where}{unknown[0]}' (known: {sorted(known)})")
        reply = data.get("reply")
        if reply not in REPLY_KINDS:
            raise InputError(source, f"key '{where}reply' must be one of {', '.join(REPLY_KINDS)}")
        stop = data.get("stop", [])
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
            raise InputError(source, f"key '{where}stop' must be a string or a list of strings")
        values: dict[str, Any] = {"mode": mode, "reply": reply, "stop": tuple(stop)}
        if mode == "chat":
            values["system"] = _text(data, "system", source, where)
            values["user"] = _text(data, "user", source, where)
        else:
            values["prompt"] = _text(data, "prompt", source, where)
            if "example" in data:
                values["example"] = _text(data, "example", source, where)
        if reply == "json":
            values["response_schema"] = _text(data, "response_schema", source, where)
        if reply == "rating":
            ratings = data.get("ratings")
            if (
                not isinstance(ratings, Mapping)
                or len(ratings) < 2
                or not all(
                    isinstance(k, str) and k.strip() and isinstance(v, int | float)
                    for k, v in ratings.items()
                )
            ):
                raise InputError(
                    source,
                    f"key '{where}ratings' must map two or more answer tokens to numbers",
                )
            values["ratings"] = {str(k): float(v) for k, v in ratings.items()}
        parsed = cls(**values)
        # Parsed once here, so a broken placeholder fails at load and requests reuse the result.
        found: frozenset[str] = frozenset()
        for key, text in parsed.templates().items():
            found |= _template_fields(text, source, f"{mode}.{key}")
        return dataclasses.replace(parsed, placeholders=found - {EXAMPLES_FIELD})

    def templates(self) -> dict[str, str]:
        named = {"system": self.system, "user": self.user, "prompt": self.prompt}
        return {key: text for key, text in named.items() if text}


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    path: Path
    sha256: str
    modes: Mapping[str, PromptMode]
    examples: tuple[Mapping[str, Any], ...] = ()
    #: Named sub-questions a rating prompt asks one at a time (criterion id -> text).
    criteria: Mapping[str, str] | None = None
    description: str = ""

    @classmethod
    def load(cls, path: str | Path) -> PromptTemplate:
        """Read and check a prompt file; :class:`InputError` names the file and the bad key."""
        file = Path(path)
        source = str(file)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise InputError(source, f"cannot read prompt file: {exc.strerror or exc}") from exc
        try:
            data: Any = yaml.safe_load(raw.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(source, f"not valid UTF-8 YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(source, "prompt file must be a YAML mapping")
        name = _text(data, "name", source, "")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InputError(source, "key 'version' is missing or not a positive integer")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise InputError(source, "key 'description' must be a string")
        if "system" in data or "user" in data:  # the first layout: chat with a JSON reply
            legacy = {k: data.get(k) for k in ("system", "user", "response_schema")}
            modes = {"chat": PromptMode.parse("chat", {"reply": "json", **legacy}, source)}
        else:
            modes = {m: PromptMode.parse(m, data[m], source) for m in PROMPT_MODES if m in data}
        if not modes:
            raise InputError(source, f"the file defines no prompt mode ({', '.join(PROMPT_MODES)})")
        examples = data.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
            raise InputError(source, "key 'examples' must be a list of mappings")
        criteria = data.get("criteria")
        if criteria is not None and (
            not isinstance(criteria, dict)
            or not all(isinstance(v, str) and v.strip() for v in criteria.values())
        ):
            raise InputError(source, "key 'criteria' must map criterion ids to questions")
        template = cls(
            name=name,
            version=version,
            path=file,
            sha256=hashlib.sha256(raw).hexdigest(),
            modes=modes,
            examples=tuple(examples),
            criteria=dict(criteria) if criteria is not None else None,
            description=description.strip(),
        )
        return template

    # --- inspection -------------------------------------------------------------------
    def mode(self, mode: str) -> PromptMode:
        found = self.modes.get(mode)
        if found is None:
            raise InputError(
                str(self.path),
                f"prompt '{self.name}' has no '{mode}' block (it supports "
                f"{', '.join(self.modes)}); add one or set the model's prompt_mode",
            )
        return found

    def fields(self, mode: str) -> frozenset[str]:
        """Every placeholder the mode's templates need filled (``examples`` is filled here)."""
        return self.mode(mode).placeholders

    def example_values(self, key: str) -> list[str]:
        """One field of every worked example (e.g. its question): replies must not copy them."""
        return [str(e[key]) for e in self.examples if isinstance(e.get(key), str)]

    def instruction_texts(self, mode: str) -> list[str]:
        """The mode's own instruction words, which a reply must not echo back."""
        return [_literal_text(text) for text in self.mode(mode).templates().values()]

    @property
    def response_schema(self) -> str | None:
        """The JSON reply schema of the first mode that has one (for checks and listings)."""
        return next((m.response_schema for m in self.modes.values() if m.response_schema), None)

    # --- rendering --------------------------------------------------------------------
    def _render_examples(
        self, mode: PromptMode, fields: Mapping[str, str], example_fields: ExampleFields | None
    ) -> str:
        if not mode.example:
            return ""
        blocks = []
        for index, example in enumerate(self.examples):
            values = {**fields, **example, **(example_fields(example) if example_fields else {})}
            try:
                blocks.append(mode.example.format(**values).strip("\n"))
            except KeyError as exc:
                raise InputError(
                    str(self.path), f"worked example {index + 1} has no field {exc.args[0]!r}"
                ) from None
        return "\n\n".join(blocks)

    def request(
        self,
        request_id: str,
        mode_name: str,
        params: Mapping[str, Any],
        fields: Mapping[str, str],
        example_fields: ExampleFields | None = None,
    ) -> LLMRequest:
        """The request for ``fields``; a placeholder without a value raises :class:`InputError`."""
        mode = self.mode(mode_name)
        missing = sorted(self.fields(mode_name) - fields.keys())
        if missing:
            raise InputError(
                str(self.path), f"prompt '{self.name}' needs field(s) {', '.join(missing)}"
            )
        values = {**fields, EXAMPLES_FIELD: self._render_examples(mode, fields, example_fields)}
        merged = dict(params)
        if mode.reply == "rating":
            merged["max_tokens"] = 1  # a rating reads the first reply token's probabilities only
        if mode.stop:
            extra = merged.get("stop", [])
            extra = [extra] if isinstance(extra, str) else list(extra)
            merged["stop"] = [*mode.stop, *(s for s in extra if s not in mode.stop)]
        if mode.mode == "chat":
            messages = [
                {"role": "system", "content": mode.system.format(**values)},
                {"role": "user", "content": mode.user.format(**values)},
            ]
            return LLMRequest(
                id=request_id,
                messages=messages,
                schema_name=mode.response_schema,
                params=merged,
                rating_values=mode.ratings,
            )
        return LLMRequest(
            id=request_id,
            prompt=mode.prompt.format(**values),
            schema_name=mode.response_schema,
            params=merged,
            rating_values=mode.ratings,
        )

    def provenance(self) -> dict[str, Any]:
        """What a record stores about the prompt (file name, not the machine-specific path)."""
        return {
            "file": self.path.name,
            "name": self.name,
            "sha256": self.sha256,
            "version": self.version,
        }
