"""The request and result types every part of the LLM layer shares.

They live apart from the service, backends and accounting so that imports run one way:
``types`` imports nothing from the layer, everything else imports ``types``.

A request is one of two *modes*:

* ``chat``: a list of messages, for instruction-tuned models and chat endpoints;
* ``completion``: one plain-text prompt that the model continues, for base (pretrained)
  models such as the bundled Gemma 3 270M, prompted with worked examples.

and expects one of three *reply kinds*:

* ``text``: plain text, cut by stop sequences (questions, answers);
* ``json``: a JSON object matching a schema in ``schemas/`` (structured replies);
* ``rating``: no text at all, but the model's probabilities over a few next tokens
  (e.g. ``Yes``/``No``), turned into an expected value: a judge signal that varies even when a
  small model's sampled ratings would not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROMPT_MODES = ("chat", "completion")
REPLY_KINDS = ("text", "json", "rating")

#: How many of the most likely next tokens a rating request asks the model for.
RATING_TOP_LOGPROBS = 20


@dataclass(frozen=True)
class LLMRequest:
    id: str
    #: Chat mode: the conversation. Completion mode leaves it None and sets ``prompt``.
    messages: list[dict[str, str]] | None = None
    #: JSON replies: the reply schema's file name in ``schemas/``.
    schema_name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: Completion mode: the text the model continues.
    prompt: str | None = None
    #: Rating replies: next-token text -> the value it stands for (e.g. {"Yes": 1, "No": 0}).
    rating_values: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError(f"request {self.id}: give exactly one of messages and prompt")
        if self.schema_name is not None and self.rating_values is not None:
            raise ValueError(f"request {self.id}: a reply is JSON or a rating, not both")

    @property
    def mode(self) -> str:
        return "chat" if self.messages is not None else "completion"

    @property
    def reply(self) -> str:
        if self.schema_name is not None:
            return "json"
        if self.rating_values is not None:
            return "rating"
        return "text"


@dataclass(frozen=True)
class Call:
    """What a backend sends: one ask of a request (a re-ask has more messages)."""

    messages: list[dict[str, str]] | None
    prompt: str | None
    params: dict[str, Any]
    schema_name: str | None
    schema: dict[str, Any] | None
    #: Ask for the top N next-token log-probabilities of the first reply token (0 = none).
    top_logprobs: int = 0


@dataclass(frozen=True)
class Completion:
    content: str | None
    prompt_tokens: int
    completion_tokens: int
    served_model: str
    finish_reason: str | None
    attempts: int
    #: Log-probabilities of the most likely first reply tokens, when asked for.
    top_logprobs: dict[str, float] | None = None

    def to_stored(self) -> dict[str, Any]:
        """The reply as the request cache keeps it."""
        stored: dict[str, Any] = {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "served_model": self.served_model,
        }
        if self.top_logprobs is not None:
            stored["top_logprobs"] = self.top_logprobs
        return stored


@dataclass
class LLMResult:
    id: str
    #: json: the reply object; text: {"text": ...}; rating: {"rating": ..., "probabilities": ...}
    value: dict[str, Any] | None
    raw: str | None
    error: str | None
    cache_key: str
    from_cache: bool
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    model: str
    #: Model name the endpoint reported (or the configured name when served from llama.cpp).
    served_model: str = ""
    #: Asks made including re-asks after invalid replies (1 when the first reply was usable).
    asks: int = 0
    #: The reply stopped at ``max_tokens`` rather than at a stop sequence or end of text.
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def text(self) -> str | None:
        """The reply text of a text request (None when it failed)."""
        if self.value is None:
            return None
        text = self.value.get("text")
        return text if isinstance(text, str) else None
