"""Workflow configuration helpers: cross-checks the schema cannot express, per-descriptor
effective settings, and the config hash carried in provenance."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from meshdistill.errors import ConfigError
from meshdistill.fileio import canonical_json, file_sha256
from meshdistill.retrieval.embedding import BUNDLED_MODEL_PACKAGE, DENSE_EXTRA_HINT, MODEL_MARKER
from meshdistill.retrieval.methods import DENSE_METHODS, uses_local_corpus

# Sections a descriptor may override; each one is deep-merged over the global section.
OVERRIDABLE_SECTIONS = ("abstracts", "selection", "retrieval")
# Settings that every method must provide when the config leaves them unset.
METHOD_SETTINGS = (
    ("scoring", "measure"),
    ("scoring", "category"),
    ("scoring", "exclude_headings"),
    ("selection", "kailin_filter"),
    ("retrieval", "method"),
    ("retrieval", "k"),
)

T = TypeVar("T")
U = TypeVar("U")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``override`` merged in recursively (override wins)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_method(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config with the chosen method's settings filled in, and notes on explicit settings
    that differ from the method's (they win).

    ``config["method"]`` names an entry of ``config["methods"]``; each of its settings
    (``section: {key: value}``) is used where the config leaves that key out. A setting given
    in ``config.yaml`` or an overlay is explicit and is kept. Runs at parse time, so an unknown
    method or a setting no one provides stops the workflow before any job.
    """
    method = config.get("method")
    methods = config.get("methods") or {}
    if method not in methods:
        known = ", ".join(sorted(methods)) or "none"
        raise ConfigError("method", f"'{method}' is not a key of 'methods' ({known})")
    expanded = copy.deepcopy(dict(config))
    notes: list[str] = []
    for section, values in (methods[method] or {}).items():
        target = expanded.setdefault(section, {})
        if not isinstance(values, Mapping) or not isinstance(target, dict):
            raise ConfigError(f"methods.{method}.{section}", "must be a mapping of settings")
        for key, value in values.items():
            if key not in target:
                target[key] = copy.deepcopy(value)
            elif target[key] != value:
                notes.append(
                    f"{section}.{key} = {target[key]!r} is set explicitly and wins over "
                    f"method {method}'s {value!r}"
                )
    for section, key in METHOD_SETTINGS:
        if key not in (expanded.get(section) or {}):
            raise ConfigError(
                f"{section}.{key}", f"is not set, and method '{method}' does not set it either"
            )
    return expanded, notes


def section_for(config: Mapping[str, Any], section: str, ui: str) -> dict[str, Any]:
    """The settings of ``section`` that apply to descriptor ``ui`` (global + its override)."""
    base = config.get(section) or {}
    override = ((config.get("descriptors") or {}).get("overrides") or {}).get(ui) or {}
    merged = deep_merge(base, override.get(section) or {})
    return retrieval_in_use(merged) if section == "retrieval" else merged


@dataclass(frozen=True)
class PerDescriptor(Generic[T]):
    """A setting's value for every descriptor, worked out once: the value most descriptors
    share, and the few descriptors (those with overrides) whose value differs from it."""

    shared: T
    overridden: Mapping[str, T] = field(default_factory=dict)

    def for_ui(self, ui: str) -> T:
        return self.overridden.get(ui, self.shared)

    def map(self, derive: Callable[[T], U]) -> PerDescriptor[U]:
        """The derived setting, keeping only the descriptors whose derived value differs."""
        shared = derive(self.shared)
        overridden = {ui: derive(value) for ui, value in self.overridden.items()}
        return PerDescriptor(shared, {ui: v for ui, v in overridden.items() if v != shared})


def overridden_uis(config: Mapping[str, Any]) -> list[str]:
    return sorted((config.get("descriptors") or {}).get("overrides") or {})


def section_per_descriptor(
    config: Mapping[str, Any], section: str
) -> PerDescriptor[dict[str, Any]]:
    """``section_for`` for every descriptor at once: the merge runs once per override, not once
    per descriptor (or per job)."""
    shared = section_for(config, section, "")  # no UI has an override under ""
    overridden = {ui: section_for(config, section, ui) for ui in overridden_uis(config)}
    return PerDescriptor(shared, {ui: v for ui, v in overridden.items() if v != shared})


def config_hash_per_descriptor(config: Mapping[str, Any]) -> PerDescriptor[str]:
    """``config_hash(descriptor_config(config, ui))`` for every descriptor, each prompt file
    read and hashed once."""
    prompts = _prompt_refs(config, _roles(config))
    shared = config_hash(descriptor_config(config, "", prompts))
    overridden = {
        ui: config_hash(descriptor_config(config, ui, prompts)) for ui in overridden_uis(config)
    }
    return PerDescriptor(shared, {ui: v for ui, v in overridden.items() if v != shared})


def retrieval_in_use(retrieval: Mapping[str, Any]) -> dict[str, Any]:
    """``retrieval`` without the sub-sections its method never reads, so that (say) the dense
    model setting neither reruns nor re-hashes a BM25 run."""
    method = retrieval["method"]
    unused = set()
    if method not in DENSE_METHODS:
        unused.add("dense")
    if method != "hybrid":
        unused.add("hybrid")
    return {key: value for key, value in retrieval.items() if key not in unused}


def config_hash(settings: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the settings that shaped a record."""
    return hashlib.sha256(canonical_json(settings).encode("utf-8")).hexdigest()


def check_references(config: Mapping[str, Any], workdir: str | Path = ".") -> None:
    """Checks across settings that JSON Schema cannot express; raises ConfigError naming them."""
    root = Path(workdir)
    models = config.get("models") or {}
    roles: list[tuple[str, Mapping[str, Any]]] = [
        (f"generators[{i}]", g) for i, g in enumerate(config.get("generators") or [])
    ]
    roles += [("judge", config["judge"]), ("answerer", config["answerer"])]
    seen_ids: set[str] = set()
    for where, role in roles:
        if role["model"] not in models:
            known = ", ".join(sorted(models)) or "none"
            raise ConfigError(
                f"{where}.model", f"'{role['model']}' is not a key of 'models' ({known})"
            )
        if not (root / role["prompt"]).is_file():
            raise ConfigError(f"{where}.prompt", f"prompt file '{role['prompt']}' does not exist")
        if where.startswith("generators"):
            if role["id"] in seen_ids:
                raise ConfigError(f"{where}.id", f"duplicate generator id '{role['id']}'")
            seen_ids.add(role["id"])
    # Imported here: the LLM package costs ~0.1 s to import, which parse time pays only once.
    from meshdistill.llm.models import check_batch_settings

    for model_id, spec in models.items():
        check_batch_settings(model_id, spec)
        if spec["provider"] == "openai":
            for key in ("base_url", "model"):
                if not spec.get(key):
                    raise ConfigError(f"models.{model_id}.{key}", "required for provider 'openai'")
    for key in ("preference_prompt",):
        value = (config.get("dataset") or {}).get(key)
        if value and not (root / value).is_file():
            raise ConfigError(f"dataset.{key}", f"file '{value}' does not exist")
    sources = [config["mesh"]["source"]]
    for path in sources:
        if not (root / path).is_file():
            raise ConfigError("mesh.source", f"file '{path}' does not exist")
    if config["abstracts"]["source"] == "local":
        for path in config["abstracts"]["local"]["paths"]:
            if not (root / path).exists():
                raise ConfigError("abstracts.local.paths", f"corpus file '{path}' does not exist")
    scoring = config["scoring"]
    if "check_tags" in (scoring.get("exclude_headings") or []):
        if not (root / scoring["check_tags_file"]).is_file():
            raise ConfigError(
                "scoring.check_tags_file", f"file '{scoring['check_tags_file']}' does not exist"
            )
    check_retrieval(config, root)
    check_abstract_order(config)
    selection = config.get("selection") or {}
    if selection.get("hierarchy_weight", 0) + selection.get("self_eval_weight", 0) <= 0:
        raise ConfigError("selection.hierarchy_weight", "the score weights must not both be 0")


def check_retrieval(config: Mapping[str, Any], root: Path) -> None:
    """The retrieval method's corpus, its optional dependencies and the settings it reads."""
    retrieval = config["retrieval"]
    method = retrieval["method"]
    if uses_local_corpus(method):
        for path in retrieval.get("corpus") or []:
            if not (root / path).exists():
                raise ConfigError("retrieval.corpus", f"corpus file '{path}' does not exist")
        if not retrieval.get("corpus"):
            raise ConfigError(
                "retrieval.corpus", f"{method} retrieval needs at least one corpus file"
            )
    scoring = config["scoring"]
    counting = None  # the scoring setting that counts the corpus's annotations, if any
    if scoring["measure"] == "kailin":
        counting = ("scoring.measure", "kailin")
    elif scoring["information_content"] == "corpus":
        counting = ("scoring.information_content", "corpus")
    if counting:
        setting, value = counting
        # Retrieval may be overridden per descriptor; scoring may not.
        methods = {"retrieval.method": method}
        for ui in sorted((config.get("descriptors") or {}).get("overrides") or {}):
            where = f"descriptors.overrides.{ui}.retrieval.method"
            methods[where] = section_for(config, "retrieval", ui)["method"]
        for where, other in methods.items():
            if not uses_local_corpus(other):
                raise ConfigError(
                    setting,
                    f"'{value}' counts the annotations of a local retrieval corpus, which "
                    f"{where} '{other}' does not have; use bm25, dense or hybrid retrieval "
                    "over retrieval.corpus",
                )
    if method not in DENSE_METHODS:
        return
    dense = retrieval["dense"]
    needed = ["sentence_transformers", "torch", "qdrant_client"]
    if dense["model"] is None:
        needed.append(BUNDLED_MODEL_PACKAGE)
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            "retrieval.method",
            f"{method} retrieval needs {', '.join(missing)}, which are not installed; "
            f"{DENSE_EXTRA_HINT}",
        )
    if dense["model"] is not None:
        model = Path(dense["model"])
        folder = model if model.is_absolute() else root / model
        if not (folder / MODEL_MARKER).is_file():
            raise ConfigError(
                "retrieval.dense.model",
                f"'{dense['model']}' is not a folder holding a sentence-transformers model "
                f"({MODEL_MARKER} is missing); null selects the bundled all-MiniLM-L6-v2",
            )
    if dense["api_key_env"] and not dense["url"]:
        raise ConfigError(
            "retrieval.dense.api_key_env",
            "an API key is only used with a Qdrant server; set retrieval.dense.url or null this",
        )


def check_abstract_order(config: Mapping[str, Any]) -> None:
    """``abstracts.order: relevance`` is PubMed's ranking: only an Entrez source has one."""
    uis = ["", *sorted((config.get("descriptors") or {}).get("overrides") or {})]
    for ui in uis:
        abstracts = section_for(config, "abstracts", ui) if ui else config["abstracts"]
        if abstracts.get("order") == "relevance" and abstracts.get("source") != "entrez":
            where = f"descriptors.overrides.{ui}.abstracts.order" if ui else "abstracts.order"
            raise ConfigError(
                where,
                f"'relevance' is PubMed's search ranking and needs abstracts.source 'entrez' "
                f"(the source here is '{abstracts.get('source')}'); for a local corpus use "
                "oldest, newest or random",
            )


def _prompt_refs(config: Mapping[str, Any], roles: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"path": role["prompt"], "sha256": file_sha256(role["prompt"])} for role in roles]


def _roles(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*config["generators"], config["judge"], config["answerer"]]


def descriptor_config(
    config: Mapping[str, Any], ui: str, prompts: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Every setting that shapes the records of descriptor ``ui`` (prompt files by content;
    ``prompts`` passes their references when already worked out)."""
    roles = _roles(config)
    model_ids = sorted({role["model"] for role in roles})
    return {
        "abstracts": section_for(config, "abstracts", ui),
        "generators": config["generators"],
        "judge": config["judge"],
        "answerer": config["answerer"],
        "models": {model_id: config["models"][model_id] for model_id in model_ids},
        "prompts": _prompt_refs(config, roles) if prompts is None else prompts,
        "retrieval": section_for(config, "retrieval", ui),
        "scoring": config["scoring"],
        "selection": section_for(config, "selection", ui),
        "mesh_source": config["mesh"]["source"],
    }


ANSWER_METHODS = ("write", "extract")


def answer_method(answerer: Mapping[str, Any]) -> str:
    """How answers are made (``answerer.method``): ``write`` (the answerer model) or
    ``extract`` (taken from the source, no model call)."""
    method = str(answerer.get("method", "write"))
    if method not in ANSWER_METHODS:
        raise ConfigError(
            "answerer.method", f"must be one of {list(ANSWER_METHODS)}, got {method!r}"
        )
    return method


def settings_summary(config: Mapping[str, Any]) -> dict[str, Any]:
    """How the dataset was built, in the layout the dataset card reads (no secrets: only the
    *names* of the environment variables that hold keys)."""
    answerer = config["answerer"]
    extracts = answer_method(answerer) == "extract"
    roles = [*config["generators"], config["judge"], *([] if extracts else [answerer])]
    used_models = sorted({role["model"] for role in roles})

    def role_summary(role: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "model": role["model"],
            "prompt": role["prompt"],
            "params": role.get("params") or {},
        }

    prompts = {}
    for role in roles:
        path = Path(role["prompt"])
        prompts[path.name] = {"path": role["prompt"], "sha256": file_sha256(path)}
    selection = dict(config["selection"])
    dedup = selection.pop("dedup", {})
    abstracts = config["abstracts"]
    corpus: dict[str, Any] = {
        "source": abstracts["source"],
        "max_abstracts": abstracts["max_abstracts"],
        "major_topic_only": abstracts.get("major_topic_only", True),
        "order": abstracts["order"],
    }
    if abstracts["order"] == "random":
        corpus["seed"] = abstracts["seed"]
    if abstracts["source"] == "local":
        corpus["paths"] = abstracts["local"]["paths"]
    else:
        corpus["query_template"] = abstracts["entrez"]["query_template"]
    return {
        "config_hash": config_hash({k: v for k, v in config.items() if k != "llm"}),
        "corpus": corpus,
        "descriptor_selection": {"mesh_source": config["mesh"]["source"], **config["descriptors"]},
        "models": {model_id: config["models"][model_id] for model_id in used_models},
        "generators": {g["id"]: role_summary(g) for g in config["generators"]},
        "judge": role_summary(config["judge"]),
        "answer": (
            {"method": "extract (the source's finding sentence nearest the question; no model)"}
            if extracts
            else {"method": "write", **role_summary(answerer)}
        ),
        "prompts": prompts,
        "scoring": config["scoring"],
        "retrieval": retrieval_in_use(config["retrieval"]),
        "selection": selection,
        "dedup": dedup,
        "quality": config["quality"],
    }
