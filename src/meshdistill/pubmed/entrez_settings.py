"""Settings of the PubMed E-utilities client, read from the workflow config and environment.

The NCBI e-mail and API key come from the environment (``NCBI_EMAIL`` / ``NCBI_API_KEY`` by
default; the variable names are configurable) or, failing that, from the config. Neither is
ever shown: the dataclass repr masks them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError
from meshdistill.pubmed.order import ORDERS

DEFAULT_QUERY_TEMPLATE = '"{name}"[MeSH Major Topic]'
NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
# NCBI's published limits: 3 requests/s without an API key, 10 with one.
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0
# PubMed's ESearch/EFetch cannot page past the first 10,000 records of one query.
NCBI_ESEARCH_CAP = 10000

_DATE = re.compile(r"^\d{4}(/\d{2}(/\d{2})?)?$")
_SECRET_FIELDS = ("email", "api_key")
_ENV_NAME_KEYS = ("email_env", "api_key_env")


#: The shared rate-limit state file, kept in ``cache_dir`` unless ``throttle_path`` says otherwise.
THROTTLE_FILE_NAME = "throttle.json"


@dataclass(frozen=True)
class EntrezSettings:
    """Everything the client needs; see :meth:`from_config` for the config keys."""

    email: str | None = None
    api_key: str | None = None
    tool: str = "meshdistill"
    base_url: str | None = None  # None = NCBI; tests point it at a local server
    query_template: str = DEFAULT_QUERY_TEMPLATE  # {name} and {ui} are filled per descriptor
    date_from: str | None = None  # YYYY, YYYY/MM or YYYY/MM/DD (publication date)
    date_to: str | None = None
    languages: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    has_abstract: bool = True
    batch_size: int = 200
    max_records: int = 1000
    # Which records come first (meshdistill.pubmed.order): newest = ESearch's default order,
    # relevance = its sort=relevance, oldest and random reorder the PMIDs ESearch lists.
    order: str = "newest"
    seed: int = 0
    esearch_cap: int = NCBI_ESEARCH_CAP
    max_tries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 60.0
    cache_dir: Path | None = None  # raw responses, keyed by request without email/api_key
    throttle_path: Path | None = None  # state file shared by every process for the rate limit
    # Publication-date bounds used only when a query must be split and no date range is set.
    split_floor: str = "1800/01/01"
    split_ceiling: str = "2099/12/31"
    # Extra spacing per request on top of 1/rate: NCBI counts on its side, so a little slack
    # keeps network jitter from bunching requests into one second.
    rate_margin_s: float = 0.04

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                shown.append(f"{f.name}={'<set>' if value else None}")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"EntrezSettings({', '.join(shown)})"

    __str__ = __repr__

    @property
    def requests_per_second(self) -> float:
        return RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY

    @property
    def eutils_url(self) -> str:
        url = self.base_url or NCBI_EUTILS_URL
        return url if url.endswith("/") else url + "/"

    def __post_init__(self) -> None:
        self._check()

    def _check(self, prefix: str = "entrez") -> None:
        for name in ("batch_size", "max_records", "esearch_cap", "max_tries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{prefix}.{name}", f"must be a positive integer, got {value!r}")
        if self.batch_size > self.esearch_cap:
            raise ConfigError(f"{prefix}.batch_size", "must not exceed esearch_cap")
        for name in ("backoff_base_s", "backoff_max_s", "timeout_s", "rate_margin_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"{prefix}.{name}", f"must be a non-negative number, got {value!r}"
                )
        for name in ("date_from", "date_to", "split_floor", "split_ceiling"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _DATE.match(value)):
                raise ConfigError(
                    f"{prefix}.{name}", f"must be YYYY, YYYY/MM or YYYY/MM/DD, got {value!r}"
                )
        if self.order not in ORDERS:
            raise ConfigError(f"{prefix}.order", f"must be one of {', '.join(ORDERS)}")
        if "{name}" not in self.query_template and "{ui}" not in self.query_template:
            raise ConfigError(f"{prefix}.query_template", "must contain {name} or {ui}")

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], env: Mapping[str, str], prefix: str = "entrez"
    ) -> EntrezSettings:
        """Build settings from a config mapping whose keys mirror the fields.

        Extra keys ``email_env`` / ``api_key_env`` name the environment variables to read the
        e-mail and key from (defaults ``NCBI_EMAIL`` / ``NCBI_API_KEY``); the environment wins
        over ``email`` / ``api_key`` in the config. Unknown keys are an error (typos would
        otherwise be silently ignored). ``prefix`` is used to name settings in errors.
        """
        if not isinstance(cfg, Mapping):
            raise ConfigError(prefix, f"must be a mapping, got {type(cfg).__name__}")
        allowed = {f.name for f in fields(cls)} | set(_ENV_NAME_KEYS)
        unknown = sorted(set(cfg) - allowed)
        if unknown:
            raise ConfigError(
                f"{prefix}.{unknown[0]}", f"unknown setting (known: {', '.join(sorted(allowed))})"
            )
        values: dict[str, Any] = {k: v for k, v in cfg.items() if k not in _ENV_NAME_KEYS}
        email_env = str(cfg.get("email_env", "NCBI_EMAIL"))
        key_env = str(cfg.get("api_key_env", "NCBI_API_KEY"))
        values["email"] = env.get(email_env) or cfg.get("email") or None
        values["api_key"] = env.get(key_env) or cfg.get("api_key") or None
        for name in ("languages", "publication_types"):
            if name in values:
                value = values[name]
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise ConfigError(f"{prefix}.{name}", "must be a list of strings")
                values[name] = tuple(value)
        for name in ("cache_dir", "throttle_path"):
            if values.get(name) is not None:
                values[name] = Path(values[name])
        if values.get("throttle_path") is None and values.get("cache_dir") is not None:
            # Jobs that share a response cache share the rate limit: one state file beside it.
            values["throttle_path"] = values["cache_dir"] / THROTTLE_FILE_NAME
        for name in ("date_from", "date_to", "split_floor", "split_ceiling"):
            if isinstance(values.get(name), int):
                values[name] = str(values[name])  # YAML reads a bare year as an integer
        try:
            settings = cls(**values)
        except TypeError as exc:
            raise ConfigError(prefix, str(exc)) from None
        return settings
