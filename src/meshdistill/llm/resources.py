"""Names for the Snakemake global resource that caps requests in flight per endpoint.

Every rule that calls a model declares ``resources: <endpoint_resource_name(spec)>=<share>`` and
the workflow is started with ``--resources <name>=<endpoint limit>``; Snakemake then never runs
jobs whose shares add up past the limit. Inside the job, ``spec.with_concurrency(share)`` keeps
the job's own in-flight requests within its share.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from meshdistill.llm.models import ModelSpec

#: Prefix of every LLM resource name, so they group together in Snakemake's output.
RESOURCE_PREFIX = "llm_"


def endpoint_resource_name(spec: ModelSpec) -> str:
    """One name per endpoint (host and port), shared by every model id served there; in-process
    llama.cpp models get one per model id (each job loads its own copy)."""
    if spec.provider == "llama_cpp":
        label = f"local_{spec.id}"
    else:
        parts = urlsplit(spec.base_url or "https://api.openai.com/v1")
        label = parts.netloc or parts.path
    return RESOURCE_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower()


def job_share(spec: ModelSpec, granted: int | None) -> int:
    """Requests in flight a job may use: its granted resource share, at most the model's
    ``max_concurrency``, at least 1."""
    if granted is None:
        return spec.max_concurrency
    return max(1, min(int(granted), spec.max_concurrency))
