"""Benchmark the MeSH layer on the full 2017 tree: loading, and set scoring against a reference.

Usage (from the repository root):

    .venv/bin/python bench/mesh_similarity/run_bench.py [--data ../shared/data/mesh2017]
        [--pairs 2000] [--set-size 8] [--repeats 5] [--measure lin] [--ic-kind intrinsic]

Prints a JSON report (and writes it to --out when given). Timings are medians over --repeats
runs; the reference runs once over the same workload, and the speed ratio is its time divided
by the project's median time for that workload, both measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reference import ReferenceScorer

from meshdistill.mesh import MEASURES, InformationContent, MeshTree, SimilarityScorer
from meshdistill.mesh.readers import read_descriptor_xml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mesh2017"
XML_NAME = "desc2017-trees.xml"
TSV_NAME = "MeshTreeHierarchy2017.tsv"
TOLERANCE = 1e-9
SYNTHETIC_CORPUS_DOCUMENTS = 5000
SYNTHETIC_HEADINGS_PER_DOCUMENT = 10

Workload = list[tuple[list[str], list[str]]]


class Timing:
    """Wall-clock and CPU seconds of repeated runs; medians reported.

    The machine this was written on is shared, so CPU seconds (time.process_time) are reported
    beside wall-clock seconds: they are what the code costs, free of other people's load.
    """

    def __init__(self, action: Callable[[], object], repeats: int) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            action()
            self.wall.append(time.perf_counter() - start)
            self.cpu.append(time.process_time() - start_cpu)

    def summary(self, prefix: str, digits: int = 4) -> dict[str, Any]:
        return {
            f"{prefix}_median_s": round(statistics.median(self.wall), digits),
            f"{prefix}_median_cpu_s": round(statistics.median(self.cpu), digits),
            f"{prefix}_runs_s": [round(t, digits) for t in self.wall],
        }


def make_workload(uis: Sequence[str], pairs: int, set_size: int, seed: int) -> Workload:
    rng = random.Random(seed)
    return [(rng.sample(uis, set_size), rng.sample(uis, set_size)) for _ in range(pairs)]


def synthetic_corpus(uis: Sequence[str], seed: int) -> list[list[str]]:
    rng = random.Random(seed + 1)
    return [
        rng.sample(uis, SYNTHETIC_HEADINGS_PER_DOCUMENT) for _ in range(SYNTHETIC_CORPUS_DOCUMENTS)
    ]


def streaming_peak_bytes(xml_path: Path) -> tuple[int, int]:
    """Peak traced memory while streaming every record of the XML (records are not kept)."""
    tracemalloc.start()
    count = sum(1 for _ in read_descriptor_xml(xml_path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


def score_all(scorer: Any, workload: Workload, method: str) -> list[float]:
    return [scorer.set_similarity(source, other, method) for source, other in workload]


def job_setup(xml_path: Path, tree: MeshTree, args: argparse.Namespace) -> dict[str, Any]:
    """What one scoring job spends on the hierarchy before and while scoring its descriptor
    (the tree from its Parquet cache, intrinsic IC, a scorer per measure, one descriptor's 32
    set scores): with the IC file of an earlier job (``warm``) and without (``cold``, the first
    job of a run), per category convention. CPU seconds, median of ``--repeats``."""
    workload = make_workload(tree.uis, 32, args.set_size, args.seed)
    found: dict[str, Any] = {}
    for convention in ("letter", "segment"):
        with tempfile.TemporaryDirectory() as cache_dir:
            MeshTree.load(xml_path, cache_dir=cache_dir)

            def one_job(cache_dir: str = cache_dir, convention: str = convention) -> None:
                job_tree = MeshTree.load(xml_path, cache_dir=cache_dir)
                ic = InformationContent.intrinsic(job_tree, convention, cache_dir=cache_dir)
                for measure in MEASURES:
                    score_all(SimilarityScorer(job_tree, ic, measure), workload, "mean")

            def cold_job(cache_dir: str = cache_dir) -> None:
                for stale in Path(cache_dir).glob("information-content.*"):
                    stale.unlink()
                one_job()

            found.update(Timing(cold_job, args.repeats).summary(f"{convention}_cold"))
            found.update(Timing(one_job, args.repeats).summary(f"{convention}_warm"))
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    xml_path, tsv_path = data / XML_NAME, data / TSV_NAME
    if not xml_path.is_file() or not tsv_path.is_file():
        sys.exit(f"MeSH 2017 data not found under {data} (expected {XML_NAME} and {TSV_NAME})")
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "workload": {
            "pairs": args.pairs,
            "set_size": args.set_size,
            "seed": args.seed,
            "measure": args.measure,
            "ic_kind": args.ic_kind,
        },
    }

    xml_timing = Timing(lambda: MeshTree.from_descriptor_xml(xml_path), args.repeats)
    tsv_timing = Timing(lambda: MeshTree.from_tree_tsv(tsv_path), args.repeats)
    with tempfile.TemporaryDirectory() as cache_dir:
        tree = MeshTree.load(xml_path, cache_dir=cache_dir)
        cache_timing = Timing(lambda: MeshTree.load(xml_path, cache_dir=cache_dir), args.repeats)
    records, peak = streaming_peak_bytes(xml_path)
    report["loading"] = {
        "descriptors": len(tree),
        "xml_bytes": xml_path.stat().st_size,
        **xml_timing.summary("xml"),
        **tsv_timing.summary("tsv"),
        **cache_timing.summary("parquet_cache"),
        "xml_streaming_records": records,
        "xml_streaming_peak_traced_bytes": peak,
    }

    report["job_setup"] = job_setup(xml_path, tree, args)

    corpus = synthetic_corpus(tree.uis, args.seed) if args.ic_kind == "corpus" else None

    def build_ic() -> InformationContent:
        if corpus is None:
            return InformationContent.intrinsic(tree)
        return InformationContent.from_corpus(tree, corpus)

    ic_timing = Timing(build_ic, args.repeats)
    ic = build_ic()
    scorer = SimilarityScorer(tree, ic, args.measure)
    workload = make_workload(tree.uis, args.pairs, args.set_size, args.seed)

    fast: dict[str, Any] = ic_timing.summary("ic_build")
    fast_scores: dict[str, list[float]] = {}
    for method in ("mean", "best_match"):

        def cold_run(method: str = method) -> None:
            scorer.clear_memo()
            fast_scores[method] = score_all(scorer, workload, method)

        fast.update(Timing(cold_run, args.repeats).summary(method, digits=5))
    report["fast"] = fast

    reference = ReferenceScorer(tree, args.measure, corpus)
    start, start_cpu = time.perf_counter(), time.process_time()
    reference_scores = score_all(reference, workload, "mean")
    reference_s = time.perf_counter() - start
    reference_cpu_s = time.process_time() - start_cpu
    # best_match reuses the same pair values; scoring it on a sample checks the aggregation.
    sample = workload[: args.check_pairs]
    best_match_reference = score_all(reference, sample, "best_match")
    worst_mean = max(abs(a - b) for a, b in zip(reference_scores, fast_scores["mean"], strict=True))
    worst_best = max(
        abs(a - b) for a, b in zip(best_match_reference, fast_scores["best_match"], strict=False)
    )
    report["reference"] = {
        "mean_s": round(reference_s, 3),
        "mean_cpu_s": round(reference_cpu_s, 3),
        "max_abs_difference_mean": worst_mean,
        "max_abs_difference_best_match_sample": worst_best,
    }
    report["speedup_mean"] = round(reference_s / fast["mean_median_s"], 1)
    report["speedup_mean_cpu"] = round(reference_cpu_s / fast["mean_median_cpu_s"], 1)

    # Every other measure agrees with the reference too (on a sample, to keep the run short).
    agreement = {}
    for measure in MEASURES:
        other = SimilarityScorer(tree, ic, measure)
        other_reference = ReferenceScorer(tree, measure, corpus)
        agreement[measure] = max(
            abs(other.set_similarity(s, o) - other_reference.set_similarity(s, o, "mean"))
            for s, o in sample
        )
    report["other_measures_max_abs_difference_sample"] = agreement
    report["identical_within_tolerance"] = (
        worst_mean <= TOLERANCE
        and worst_best <= TOLERANCE
        and all(value <= TOLERANCE for value in agreement.values())
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the MeSH 2017 files")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--set-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--measure", choices=MEASURES, default="lin")
    parser.add_argument("--ic-kind", choices=("intrinsic", "corpus"), default="intrinsic")
    parser.add_argument(
        "--check-pairs",
        type=int,
        default=100,
        help="workload pairs used to check best_match and the other measures",
    )
    parser.add_argument("--out", help="also write the JSON report here")
    args = parser.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0 if report["identical_within_tolerance"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
