"""The workflow end to end on a copy of the sample, and the incremental-rebuild guarantees."""

from __future__ import annotations

import json

import pytest

from meshdistill.schemas import validate
from tests.workflow.harness import Workflow, planned_jobs

pytestmark = pytest.mark.workflow

DATASET_FILES = ["sft.jsonl", "preference.jsonl", "dataset.parquet", "card.md", "stats.json"]
BRANCH_RULES = ["abstracts", "questions", "scored", "filtered"]


def dataset_bytes(workflow: Workflow) -> dict[str, bytes]:
    return {name: workflow.path(f"results/dataset/{name}").read_bytes() for name in DATASET_FILES}


def test_run_validates_and_rebuilds_only_what_changed(workflow: Workflow) -> None:
    server = workflow.server

    preview = workflow.snakemake("-n")
    jobs = planned_jobs(preview.stdout)
    assert ("merged", None) in jobs and ("questions", "D001943") in jobs
    assert server.total_requests == 0, "a dry-run must not call a model"
    assert not workflow.path("results").exists()

    workflow.snakemake()
    for name in DATASET_FILES:
        assert workflow.path(f"results/dataset/{name}").stat().st_size > 0
    sft = workflow.jsonl("results/dataset/sft.jsonl")
    preference = workflow.jsonl("results/dataset/preference.jsonl")
    assert sft and len(sft) == len(preference)
    for index, record in enumerate(sft):
        validate(record, "sft_record.schema.json", f"sft line {index + 1}")
        provenance = record["provenance"]
        assert provenance["descriptor_ui"] in {"D001943", "D009203", "D003924"}
        assert len(provenance["config_hash"]) == 64
    for index, record in enumerate(preference):
        validate(record, "preference_record.schema.json", f"preference line {index + 1}")
        assert record["chosen"] != record["rejected"]
    for ui in ("D001943", "D009203", "D003924"):
        for record in workflow.jsonl(f"results/scored/{ui}.jsonl"):
            scores = record["scores"]
            assert set(scores["hierarchy_by_measure"]) == {
                "lin",
                "jiang",
                "rel",
                "wu_palmer",
                "kailin",
            }
            assert all(d["pmid"] != record["pmid"] for d in record["retrieval"]["documents"])
    stats = json.loads(workflow.path("results/dataset/stats.json").read_text())
    assert "D001943" in json.dumps(stats)
    paid = server.total_requests
    assert paid > 0

    # The dataset folder loads with Hugging Face `datasets`, both configurations.
    import datasets

    folder = str(workflow.path("results/dataset"))
    # A cache of its own: the shared one keys a local folder by name and content hashes that
    # another run's "dataset" folder can share.
    cache = str(workflow.path("hf-cache"))
    assert len(datasets.load_dataset(folder, "sft", split="train", cache_dir=cache)) == len(sft)
    preference_rows = datasets.load_dataset(folder, "preference", split="train", cache_dir=cache)
    assert len(preference_rows) == len(preference)

    # The Snakemake report holds the card and the captioned plots.
    workflow.snakemake("--report", "report.html")
    report = workflow.path("report.html").read_text(errors="replace")
    for plot in ("score_histograms.png", "margin_histogram.png", "subtree_coverage.png"):
        assert plot in report

    # Nothing changed: nothing to do, nothing paid.
    assert "Nothing to be done" in workflow.snakemake("-n").stdout
    workflow.snakemake()
    assert server.total_requests == paid

    # Same inputs, config and cache: byte-identical dataset, served entirely from the cache.
    first = dataset_bytes(workflow)
    for stage in ("abstracts", "questions", "scored", "filtered", "dataset"):
        for path in workflow.path(f"results/{stage}").iterdir():
            if path.is_file():
                path.unlink()
    workflow.snakemake()
    assert dataset_bytes(workflow) == first
    assert server.total_requests == paid

    # Adding a descriptor runs its branch and the merge, nothing else.
    config = workflow.config()
    config["descriptors"]["uis"].append("D001249")
    workflow.write_config(config)
    jobs = planned_jobs(workflow.snakemake("-n").stdout)
    assert jobs == sorted(
        [(rule, "D001249") for rule in BRANCH_RULES] + [("all", None), ("merged", None)]
    )
    before = workflow.mtimes("results/*/D00*.jsonl")
    workflow.snakemake()
    after = workflow.mtimes("results/*/D00*.jsonl")
    assert {p: t for p, t in after.items() if p in before} == before
    assert server.total_requests > paid
    paid = server.total_requests

    # A setting that belongs to one descriptor reruns only that branch (and the merge).
    config["descriptors"]["overrides"] = {"D009203": {"selection": {"min_margin": 0.5}}}
    workflow.write_config(config)
    jobs = planned_jobs(workflow.snakemake("-n").stdout)
    rerun = {ui for _, ui in jobs if ui}
    assert rerun == {"D009203"}, jobs
    workflow.snakemake()
    assert server.total_requests == paid, "judge and answers come from the cache"
    dropped = workflow.jsonl("results/filtered/D009203.dropped.jsonl")
    assert all(d["reason"] != "margin_too_small" or "0.5" in d["detail"] for d in dropped)

    # Changing a prompt reruns the stage that uses it; only the new requests are paid.
    answer_prompt = workflow.path("prompts/answer.v2.yaml")
    original_prompt = answer_prompt.read_text()
    edited_prompt = original_prompt.replace("Answer in one", "Please answer in one")
    assert edited_prompt != original_prompt
    answer_prompt.write_text(edited_prompt)
    jobs = planned_jobs(workflow.snakemake("-n").stdout)
    assert {rule for rule, _ in jobs} == {"filtered", "merged", "all"}
    pairs_before = sum(
        len(workflow.jsonl(f"results/filtered/{ui}.jsonl"))
        for ui in ("D001943", "D009203", "D003924", "D001249")
    )
    workflow.snakemake()
    new_requests = server.total_requests - paid
    # Every answer try of this run, kept or rejected, is in the filtered records.
    answer_tries = 0
    for ui in ("D001943", "D009203", "D003924", "D001249"):
        for pair in workflow.jsonl(f"results/filtered/{ui}.jsonl"):
            answer_tries += 1 + len(pair["answer"]["rejected"])
        for drop in workflow.jsonl(f"results/filtered/{ui}.dropped.jsonl"):
            answer_tries += len(drop.get("rejected_answers", []))
    assert pairs_before > 0
    assert 0 < new_requests == answer_tries, "only answers are asked again"
