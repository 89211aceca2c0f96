"""The LLM layer: prompts, model specs, request cache, accounting and the batch service."""

from meshdistill.llm.accounting import Accountant, RequestEstimate, estimate_requests
from meshdistill.llm.cache import RequestCache, request_key
from meshdistill.llm.errors import (
    BudgetExceededError,
    LLMAuthError,
    LLMError,
    LLMModelNotFoundError,
    LLMRequestRejectedError,
    LLMUnavailableError,
)
from meshdistill.llm.models import ModelSpec, validate_generation_params
from meshdistill.llm.prompts import PromptTemplate
from meshdistill.llm.resources import endpoint_resource_name, job_share
from meshdistill.llm.service import LLMService
from meshdistill.llm.types import LLMRequest, LLMResult

__all__ = [
    "Accountant",
    "BudgetExceededError",
    "LLMAuthError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMRequest",
    "LLMRequestRejectedError",
    "LLMResult",
    "LLMService",
    "LLMUnavailableError",
    "ModelSpec",
    "PromptTemplate",
    "RequestCache",
    "RequestEstimate",
    "endpoint_resource_name",
    "estimate_requests",
    "job_share",
    "request_key",
    "validate_generation_params",
]
