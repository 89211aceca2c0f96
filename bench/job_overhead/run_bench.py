"""Fixed cost per descriptor of each per-descriptor stage, LLM time excluded, on the full tree.

Usage (from the repository root):

    .venv/bin/python bench/job_overhead/run_bench.py [--descriptors 12] [--abstracts 2]
        [--data ../shared/data/mesh2017] [--out bench/job_overhead/out/report.json]

In a temporary copy of the workflow, with `mesh.source` the full 2017 tree, a synthetic corpus
(`--abstracts` articles per descriptor, each with the descriptor as major topic and a few
other headings) and every model served by the project's OpenAI-compatible test server at zero
latency (the replies of `tests/workflow/harness.sample_responder`), so that what is measured is
what a job costs besides the model:

1. a warm-up run of the whole workflow on two other descriptors (the corpus ingest, the BM25
   index, the MeSH Parquet cache and the information-content file then exist, as they do for
   every job of a real run after its first);
2. for each stage in order (abstracts, questions, scored, filtered): the CPU seconds of
   `snakemake --cores 1 <that stage's N files>` minus those of the same command with `-n` (the
   DAG and Snakemake's own start), divided by N. CPU seconds are user + system of snakemake and
   every job it waited for (`os.wait4`).

The report gives CPU-s per descriptor per stage, their sum, and the extrapolation to all 28,470
descriptors of MeSH 2017 on 2 cores (sum × 28,470 / 2, in hours).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # tests.workflow.harness: the workflow tests' replies

from meshdistill.mesh import MeshTree  # noqa: E402
from meshdistill.testing.openai_server import OpenAITestServer  # noqa: E402
from tests.workflow.harness import (  # noqa: E402
    API_KEY,
    API_KEY_ENV,
    copy_sample,
    sample_responder,
    test_config,
)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mesh2017"
MESH_FILE = "desc2017-trees.xml"
STAGES = ("abstracts", "questions", "scored", "filtered")
ALL_DESCRIPTORS_2017 = 28_470
WARM_UP = 2
OTHER_HEADINGS = 6
# The topic of a synthetic title, as the last one in a prompt names it.
TOPIC = re.compile(r"Title: Outcomes of early treatment in (.+?): a cohort study(?![\s\S]*Title:)")


def article(pmid: int, ui: str, name: str, others: list[tuple[str, str]]) -> dict[str, Any]:
    """A structured abstract about ``name`` whose sentences the gates and extraction accept."""
    topic = name.lower()
    return {
        "pmid": str(pmid),
        "title": f"Outcomes of early treatment in {topic}: a cohort study",
        "abstract_sections": [
            {
                "label": "BACKGROUND",
                "text": f"Whether early treatment changes outcomes in {topic} remains unclear.",
            },
            {
                "label": "METHODS",
                "text": f"We followed {200 + pmid % 700} patients with {topic} for two years.",
            },
            {
                "label": "RESULTS",
                "text": f"Early treatment of {topic} reduced hospital admissions by "
                f"{10 + pmid % 30}% and shortened recovery by {2 + pmid % 5} weeks.",
            },
            {
                "label": "CONCLUSIONS",
                "text": f"Early treatment improved outcomes in {topic}.",
            },
        ],
        "mesh_headings": [{"ui": ui, "name": name, "major_topic": True}]
        + [{"ui": u, "name": n, "major_topic": False} for u, n in others],
        "year": 2015 + pmid % 8,
        "language": "eng",
    }


def responder(request: dict[str, Any]) -> str | dict[str, Any]:
    """The workflow tests' judge replies; a well-formed question about each synthetic abstract
    (one the quality gates pass and the results sentence answers), so every stage does its
    full work."""
    reply = sample_responder(request)
    if isinstance(reply, str) and reply.startswith(("What were the main", "Which treatment")):
        topic = TOPIC.search(str(request.get("prompt") or request.get("messages")))
        if topic:
            name = topic.group(1)
            if reply.startswith("Which"):
                return f"How much does early treatment shorten recovery in {name}?\n"
            return f"Does early treatment reduce hospital admissions in {name}?\n"
    return reply


def write_corpus(path: Path, tree: MeshTree, uis: list[str], per_descriptor: int) -> None:
    rng = random.Random(2017)
    pmid = 30_000_000
    with path.open("w", encoding="utf-8") as out:
        for ui in uis:
            for _ in range(per_descriptor):
                pmid += 1
                others = [(u, tree.record(u).name) for u in rng.sample(tree.uis, OTHER_HEADINGS)]
                out.write(json.dumps(article(pmid, ui, tree.record(ui).name, others)) + "\n")


def cpu_of(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """User + system CPU seconds of ``command`` and every process it waited for."""
    with open(cwd / "bench.log", "a", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed; see {cwd / 'bench.log'}")
    return usage.ru_utime + usage.ru_stime


def run(args: argparse.Namespace) -> dict[str, Any]:
    mesh = Path(args.data) / MESH_FILE
    if not mesh.is_file():
        sys.exit(f"MeSH 2017 data not found at {mesh}")
    tree = MeshTree.from_descriptor_xml(mesh)
    # Descriptors spread over the tree (every 997th in UI order), the first two for warming up.
    chosen = tree.uis[:: max(1, len(tree.uis) // (args.descriptors + WARM_UP + 1))]
    uis = list(chosen[: args.descriptors + WARM_UP])
    warm, measured = uis[:WARM_UP], uis[WARM_UP:]
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    env = dict(os.environ, **{API_KEY_ENV: API_KEY})
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "descriptors": len(measured),
        "abstracts_per_descriptor": args.abstracts,
        "mesh": str(mesh),
    }
    with tempfile.TemporaryDirectory() as folder, OpenAITestServer(responder) as server:
        root = copy_sample(Path(args.keep) if args.keep else Path(folder))
        corpus = root / "bench-corpus.jsonl"
        write_corpus(corpus, tree, uis, args.abstracts)
        config = test_config(
            server.base_url,
            descriptors={"uis": uis},
            abstracts={"max_abstracts": args.abstracts, "local": {"paths": [str(corpus)]}},
            retrieval={"corpus": [str(corpus)]},
            mesh={"source": str(mesh)},
            answerer={"method": "extract"},
        )
        overlay = root / "bench-config.yaml"
        overlay.write_text(yaml.safe_dump(config, sort_keys=True))

        def snakemake_cpu(targets: list[str], dry_run: bool = False) -> float:
            command = [snakemake, "--cores", "1", *(["-n"] if dry_run else []), *targets]
            return cpu_of([*command, "--configfile", str(overlay)], root, env)

        started = time.perf_counter()
        snakemake_cpu([f"results/filtered/{ui}.jsonl" for ui in warm])
        report["warm_up_s"] = round(time.perf_counter() - started, 1)
        per_stage: dict[str, float] = {}
        for stage in STAGES:
            targets = [f"results/{stage}/{ui}.jsonl" for ui in measured]
            planned = snakemake_cpu(targets, dry_run=True)
            ran = snakemake_cpu(targets)
            per_stage[stage] = round((ran - planned) / len(measured), 3)
            report[f"{stage}_snakemake_cpu_s"] = round(ran, 2)
            report[f"{stage}_dry_run_cpu_s"] = round(planned, 2)
        total = sum(per_stage.values())
        report["cpu_s_per_descriptor"] = per_stage
        report["cpu_s_per_descriptor_total"] = round(total, 3)
        report["all_mesh_2017_hours_on_2_cores"] = round(total * ALL_DESCRIPTORS_2017 / 2 / 3600, 2)
        report["requests_served"] = server.total_requests
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with desc2017-trees.xml")
    parser.add_argument("--descriptors", type=int, default=12)
    parser.add_argument("--abstracts", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    parser.add_argument("--keep", help="run in this (new) folder and leave it, logs and all")
    args = parser.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
