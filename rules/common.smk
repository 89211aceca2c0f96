# Helpers shared by the rules: config validation, descriptor selection and per-descriptor params.
# Everything here runs when the workflow is parsed, so a bad config or an unknown descriptor stops
# the run before any job starts (and a dry-run never calls a model or the network).

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from meshdistill.errors import MeshDistillError
from meshdistill import settings as cfg
from meshdistill.corpus import layout as corpus_layout
from meshdistill.retrieval.dense import DenseSettings
from meshdistill.retrieval.methods import DENSE_METHODS, index_kinds
from meshdistill.stages.prompt_checks import check_role_prompts
from meshdistill.workflow import resolve_targets


validate(config, schema="../schemas/config.schema.yaml")

try:
    # The method's settings fill what the config leaves out (explicit settings win).
    _expanded, _method_notes = cfg.with_method(config)
    config.update(_expanded)
    cfg.check_references(config)
    check_role_prompts(config)
    TARGETS = resolve_targets(config)
except MeshDistillError as error:
    raise WorkflowError(f"meshdistill: {error}") from None

for _note in _method_notes:
    print(f"meshdistill: {_note}", file=sys.stderr)

DESCRIPTOR_UIS = [target.ui for target in TARGETS]


wildcard_constraints:
    ui=r"D[0-9]{6,9}",


def dataset_outputs():
    return multiext(
        "results/dataset/",
        "sft.jsonl",
        "preference.jsonl",
        "dataset.parquet",
        "card.md",
        "stats.json",
    )


# Per-descriptor values are worked out here, once, so that a job only looks its descriptor up
# (the DAG of all of MeSH has over 100,000 jobs).
SECTIONS_BY_DESCRIPTOR = {
    section: cfg.section_per_descriptor(config, section) for section in cfg.OVERRIDABLE_SECTIONS
}
CONFIG_HASHES = cfg.config_hash_per_descriptor(config)


def descriptor_value(values):
    """A per-descriptor value in the form Snakemake takes: the shared value itself while no
    override changes it (nothing to evaluate per job), else a function that looks the descriptor
    up."""
    if not values.overridden:
        return values.shared

    def lookup(wildcards):
        return values.for_ui(wildcards.ui)

    return lookup


def per_descriptor(section):
    """The settings of `section` that apply to each descriptor (with overrides), so changing one
    descriptor's setting reruns only that branch."""
    return descriptor_value(SECTIONS_BY_DESCRIPTOR[section])


def descriptor_info(wildcards):
    return TARGETS_BY_UI[wildcards.ui]


TARGETS_BY_UI = {target.ui: target.to_dict() for target in TARGETS}


def role_prompt_files(*roles):
    files = []
    for role in roles:
        if role == "generators":
            files.extend(generator["prompt"] for generator in config["generators"])
        else:
            files.append(config[role]["prompt"])
    return files


def models_for(*roles):
    """The model specs a rule needs (their settings are params, so changing one reruns it)."""
    ids = set()
    for role in roles:
        if role == "generators":
            ids.update(generator["model"] for generator in config["generators"])
        else:
            ids.add(config[role]["model"])
    return {model_id: config["models"][model_id] for model_id in sorted(ids)}


def calling_roles(*roles):
    """The roles that call a model: an answerer that extracts its answers calls none."""
    extracts = cfg.answer_method(config["answerer"]) == "extract"
    return [role for role in roles if not (role == "answerer" and extracts)]


def llm_threads(*roles):
    """In-process llama.cpp models use CPU threads; remote endpoints need one thread."""
    threads = 1
    for spec in models_for(*calling_roles(*roles)).values():
        if spec["provider"] == "llama_cpp":
            threads = max(threads, spec.get("n_threads") or 1)
    return threads


def llm_slots(*roles):
    """Requests in flight this job may open: limited globally with --resources llm_slots=N.
    A model sent as batches (models.<id>.batch.enabled) holds none while its job waits."""
    return max(
        (
            0 if (spec.get("batch") or {}).get("enabled") else spec.get("max_concurrency", 1)
            for spec in models_for(*calling_roles(*roles)).values()
        ),
        default=0,
    )


# The ingested corpus each descriptor reads (None: Entrez) and the files of each corpus, decided
# once here so the input functions below are lookups.
CORPUS_OF_UI = corpus_layout.corpus_names(config, DESCRIPTOR_UIS)
RETRIEVAL_CORPUS = corpus_layout.retrieval_corpus_name(config)
CORPORA = {
    name: corpus_layout.corpus_local_settings(config, name)
    for name in sorted(
        {name for name in [*CORPUS_OF_UI.values(), RETRIEVAL_CORPUS] if name is not None}
    )
}


def corpus_files(name):
    """The files of ingested corpus `name` that an abstracts job reads ([] for Entrez)."""
    if name is None:
        return []
    folder = corpus_layout.corpus_folder(name)
    return [
        f"{folder}/{corpus_layout.MANIFEST_FILE}",
        f"{folder}/{corpus_layout.ARTICLES_FILE}",
        f"{folder}/{corpus_layout.INDEX_FILE}",
    ]


def abstracts_corpus_files():
    """The corpus files of each descriptor: one shared list while no override names other files
    (an input function costs Snakemake a call and new file objects per job)."""
    shared = corpus_layout.corpus_name(config, "")  # no UI has an override under ""
    corpora = cfg.PerDescriptor(
        shared, {ui: name for ui, name in CORPUS_OF_UI.items() if name != shared}
    )
    return descriptor_value(corpora.map(corpus_files))


def retrieval_corpus_table():
    """The articles table the offline indexes are built from ([] for PubMed search)."""
    if RETRIEVAL_CORPUS is None:
        return []
    return f"{corpus_layout.corpus_folder(RETRIEVAL_CORPUS)}/{corpus_layout.ARTICLES_FILE}"


def corpus_source_files(wildcards):
    return CORPORA[wildcards.corpus]["paths"]


def corpus_source_format(wildcards):
    return CORPORA[wildcards.corpus]["format"]


def ncbi_connections_for_abstracts():
    """One NCBI connection for each descriptor whose abstracts come from Entrez."""
    return descriptor_value(
        SECTIONS_BY_DESCRIPTOR["abstracts"].map(
            lambda settings: int(settings["source"] == "entrez")
        )
    )


def retrieval_index():
    """The index folders the configured retrieval method reads, in the order the stages expect."""
    return [f"results/index/{kind}" for kind in index_kinds(config["retrieval"]["method"])]


def retrieval_conda_env(default):
    """A rule's conda environment, or the dense one (a superset of the scoring and LLM ones) when
    retrieval embeds questions."""
    if config["retrieval"]["method"] in DENSE_METHODS:
        return "../envs/dense.yaml"
    return default


def dense_build_settings():
    """The dense settings that shape the index (query-time ones stay out, so changing them does
    not re-embed the corpus)."""
    dense = config["retrieval"]["dense"]
    return {key: dense[key] for key in DenseSettings.keys()}


def descriptor_config_hash():
    """The hash of the settings that shape each descriptor's records (prompt files hashed once)."""
    return descriptor_value(CONFIG_HASHES)


def settings_summary():
    return cfg.settings_summary(config)
