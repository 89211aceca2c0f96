"""Errors of the LLM layer. Messages name the model id and settings, never a key."""

from __future__ import annotations

from collections.abc import Sequence

from meshdistill.errors import MeshDistillError
from meshdistill.llm.types import LLMResult


class LLMError(MeshDistillError):
    """A provider problem that stops the job (the cache keeps every answer already received)."""


class LLMAuthError(LLMError):
    """The endpoint refused the credentials (HTTP 401/403); retrying cannot help."""


class LLMModelNotFoundError(LLMError):
    """The endpoint does not serve the configured model."""


class LLMUnavailableError(LLMError):
    """Rate limits, server errors or dropped connections outlasted every retry."""


class BudgetExceededError(LLMError):
    """The cost cap was reached. ``results`` holds every request's outcome so far (in order);
    those never sent carry an error saying so, and a rerun with a larger budget resumes."""

    def __init__(self, message: str, results: Sequence[LLMResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


class ItemFailure(Exception):
    """This one request was rejected (e.g. HTTP 400, context too long); others may go on."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class LLMRequestRejectedError(LLMError):
    """The server refused the request as malformed (HTTP 400/422, or a 500 saying so): every
    request built the same way would fail too, so it is neither retried nor counted per item."""
