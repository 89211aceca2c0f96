"""``dataset.parquet``: one row per pair, flat columns for analysis plus the whole record.

The nested pair record is stored both as typed flat columns (easy to filter in polars,
pandas or DuckDB) and verbatim as canonical JSON in ``pair_json``, so every field survives
even where a score map's keys differ between runs. The column types are fixed, so an empty
dataset still writes a well-formed file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl

from meshdistill.dataset.records import build_provenance

PARQUET_COMPRESSION: Final = "zstd"

_TEXT = pl.String
_TEXTS = pl.List(pl.String)
_CONTEXT = pl.List(pl.Struct({"pmid": pl.String, "title": pl.String, "text": pl.String}))

PARQUET_SCHEMA: dict[str, pl.DataType] = {
    "id": _TEXT(),
    "descriptor_ui": _TEXT(),
    "descriptor_name": _TEXT(),
    "tree_numbers": _TEXTS,
    "pmid": _TEXT(),
    "title": _TEXT(),
    "abstract": _TEXT(),
    "year": pl.Int64(),
    "journal": _TEXT(),
    "source_mesh_uis": _TEXTS,
    "chosen_question": _TEXT(),
    "rejected_question": _TEXT(),
    "answer": _TEXT(),
    "chosen_generator": _TEXT(),
    "chosen_model": _TEXT(),
    "chosen_prompt_sha256": _TEXT(),
    "rejected_generator": _TEXT(),
    "rejected_model": _TEXT(),
    "rejected_prompt_sha256": _TEXT(),
    "answer_method": _TEXT(),
    "answer_model": _TEXT(),
    "answer_prompt_sha256": _TEXT(),
    "hierarchy_measure": _TEXT(),
    "chosen_hierarchy": pl.Float64(),
    "chosen_self_eval_score": pl.Float64(),
    "chosen_combined": pl.Float64(),
    "rejected_hierarchy": pl.Float64(),
    "rejected_self_eval_score": pl.Float64(),
    "rejected_combined": pl.Float64(),
    "margin": pl.Float64(),
    "preferred_by": _TEXT(),
    "chosen_retrieved_pmids": _TEXTS,
    "rejected_retrieved_pmids": _TEXTS,
    "context": _CONTEXT,
    "chosen_cache_key": _TEXT(),
    "rejected_cache_key": _TEXT(),
    "answer_cache_key": _TEXT(),
    "config_hash": _TEXT(),
    "provenance_json": _TEXT(),
    "pair_json": _TEXT(),
}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def table_row(pair: Mapping[str, Any]) -> dict[str, Any]:
    provenance = build_provenance(pair)
    chosen, rejected, source = pair["chosen"], pair["rejected"], pair["source"]
    return {
        "id": pair["id"],
        "descriptor_ui": provenance["descriptor_ui"],
        "descriptor_name": provenance["descriptor_name"],
        "tree_numbers": provenance["tree_numbers"],
        "pmid": source["pmid"],
        "title": source["title"],
        "abstract": source["abstract"],
        "year": source["year"],
        "journal": source["journal"],
        "source_mesh_uis": list(source["mesh_uis"]),
        "chosen_question": chosen["question"],
        "rejected_question": rejected["question"],
        "answer": pair["answer"]["text"],
        "chosen_generator": provenance["chosen_generator"],
        "chosen_model": provenance["chosen_model"],
        "chosen_prompt_sha256": provenance["chosen_prompt_sha256"],
        "rejected_generator": provenance["rejected_generator"],
        "rejected_model": provenance["rejected_model"],
        "rejected_prompt_sha256": provenance["rejected_prompt_sha256"],
        "answer_method": provenance["answer_method"],
        "answer_model": provenance["answer_model"],
        "answer_prompt_sha256": provenance["answer_prompt_sha256"],
        "hierarchy_measure": chosen["scores"]["hierarchy_measure"],
        "chosen_hierarchy": chosen["scores"]["hierarchy"],
        "chosen_self_eval_score": chosen["scores"]["self_eval_score"],
        "chosen_combined": chosen["scores"]["combined"],
        "rejected_hierarchy": rejected["scores"]["hierarchy"],
        "rejected_self_eval_score": rejected["scores"]["self_eval_score"],
        "rejected_combined": rejected["scores"]["combined"],
        "margin": pair["margin"],
        "preferred_by": pair["preferred_by"],
        "chosen_retrieved_pmids": list(chosen["retrieved_pmids"]),
        "rejected_retrieved_pmids": list(rejected["retrieved_pmids"]),
        "context": [dict(doc) for doc in pair["context"]],
        "chosen_cache_key": provenance["cache_keys"]["chosen"],
        "rejected_cache_key": provenance["cache_keys"]["rejected"],
        "answer_cache_key": provenance["cache_keys"]["answer"],
        "config_hash": pair["config_hash"],
        "provenance_json": canonical_json(provenance),
        "pair_json": canonical_json(pair),
    }


def write_parquet(pairs: Sequence[Mapping[str, Any]], path: Path) -> None:
    frame = pl.DataFrame([table_row(pair) for pair in pairs], schema=PARQUET_SCHEMA, orient="row")
    frame.write_parquet(path, compression=PARQUET_COMPRESSION, statistics=True)
