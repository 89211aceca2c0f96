"""Benchmark KAILIN's scorer (``scoring.measure: kailin``) against a straightforward transcription.

Usage (from the repository root):

    .venv/bin/python bench/kailin_similarity/run_bench.py [--data ../shared/data/mesh2017]
        [--pairs 2000] [--set-size 8] [--repeats 5] [--unmemoised-pairs 20]

The transcription is ``tests/mesh/kailin_reference.py`` (the one the tests check against). It
runs memoised (each descriptor's information content computed once and cached, as any careful
implementation would) over the whole workload, and unmemoised (descendants walked afresh for
every IC, as the released script does against its database) over the first
``--unmemoised-pairs`` pairs, whose per-pair cost is scaled to the workload. Prints a JSON
report (and writes it to --out when given).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "mesh"))

from kailin_reference import KailinReference  # noqa: E402

from meshdistill.mesh import KailinInformationContent, KailinScorer, MeshTree  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mesh2017"
TSV_NAME = "MeshTreeHierarchy2017.tsv"
TOLERANCE = 1e-9
CORPUS_DOCUMENTS = 5000
HEADINGS_PER_DOCUMENT = 10

Workload = list[tuple[list[str], list[str]]]


def timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    start, start_cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - start, time.process_time() - start_cpu


def median_timing(action: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    runs = [timed(action) for _ in range(repeats)]
    return (
        runs[-1][0],
        statistics.median(run[1] for run in runs),
        statistics.median(run[2] for run in runs),
    )


def make_workload(uis: Sequence[str], pairs: int, set_size: int, seed: int) -> Workload:
    rng = random.Random(seed)
    return [(rng.sample(uis, set_size), rng.sample(uis, set_size)) for _ in range(pairs)]


def synthetic_corpus(uis: Sequence[str], seed: int) -> list[list[str]]:
    rng = random.Random(seed + 1)
    return [rng.sample(uis, HEADINGS_PER_DOCUMENT) for _ in range(CORPUS_DOCUMENTS)]


def score_all(scorer: Any, workload: Workload) -> list[float]:
    return [scorer.set_similarity(source, other) for source, other in workload]


def run(args: argparse.Namespace) -> dict[str, Any]:
    tsv_path = Path(args.data) / TSV_NAME
    if not tsv_path.is_file():
        sys.exit(f"MeSH 2017 tree listing not found: {tsv_path}")
    tree = MeshTree.from_tree_tsv(tsv_path)
    uis = list(tree.uis)
    corpus = synthetic_corpus(uis, args.seed)
    workload = make_workload(uis, args.pairs, args.set_size, args.seed)
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "workload": {
            "descriptors": len(uis),
            "pairs": args.pairs,
            "set_size": args.set_size,
            "seed": args.seed,
            "corpus_documents": CORPUS_DOCUMENTS,
            "headings_per_document": HEADINGS_PER_DOCUMENT,
        },
    }

    def build() -> KailinScorer:
        return KailinScorer(tree, KailinInformationContent(tree, corpus))

    scorer, build_s, build_cpu = median_timing(build, args.repeats)

    def cold_run() -> list[float]:
        scorer.clear_memo()
        return score_all(scorer, workload)

    fast_scores, fast_s, fast_cpu = median_timing(cold_run, args.repeats)
    report["project"] = {
        "build_s": round(build_s, 4),
        "build_cpu_s": round(build_cpu, 4),
        "score_s": round(fast_s, 4),
        "score_cpu_s": round(fast_cpu, 4),
    }

    # Memoised reference: its tables (frequencies, MaxIC) are built once, as a database would
    # hold them; the IC cache starts empty and fills as the workload needs it (cold), then the
    # same workload runs again with every IC already cached (warm).
    reference, ref_build_s, ref_build_cpu = timed(lambda: KailinReference(tree, corpus))
    reference_scores, cold_s, cold_cpu = timed(lambda: score_all(reference, workload))
    _, warm_s, warm_cpu = timed(lambda: score_all(reference, workload))
    worst = max(abs(a - b) for a, b in zip(reference_scores, fast_scores, strict=True))
    report["reference_memoised"] = {
        "tables_s": round(ref_build_s, 3),
        "tables_cpu_s": round(ref_build_cpu, 3),
        "score_cold_cache_s": round(cold_s, 3),
        "score_cold_cache_cpu_s": round(cold_cpu, 3),
        "score_warm_cache_s": round(warm_s, 3),
        "score_warm_cache_cpu_s": round(warm_cpu, 3),
        "max_abs_difference": worst,
    }

    sample = workload[: args.unmemoised_pairs]
    reference.cache_ic = False
    reference._ic_cache.clear()
    sample_scores, sample_s, sample_cpu = timed(lambda: score_all(reference, sample))
    sample_worst = max(abs(a - b) for a, b in zip(sample_scores, fast_scores, strict=False))
    scale = len(workload) / len(sample)
    report["reference_unmemoised"] = {
        "pairs_run": len(sample),
        "score_s": round(sample_s, 3),
        "score_cpu_s": round(sample_cpu, 3),
        "score_s_scaled_to_workload": round(sample_s * scale, 1),
        "score_cpu_s_scaled_to_workload": round(sample_cpu * scale, 1),
        "max_abs_difference": sample_worst,
    }
    report["ratios"] = {
        "memoised_cold_cache": round(cold_s / fast_s, 1),
        "memoised_cold_cache_cpu": round(cold_cpu / fast_cpu, 1),
        "memoised_warm_cache": round(warm_s / fast_s, 1),
        "memoised_warm_cache_cpu": round(warm_cpu / fast_cpu, 1),
        "memoised_including_build": round((ref_build_s + cold_s) / (build_s + fast_s), 1),
        "unmemoised": round(sample_s * scale / fast_s, 1),
        "unmemoised_cpu": round(sample_cpu * scale / fast_cpu, 1),
    }
    nonzero = sum(1 for value in fast_scores if value > 0)
    report["workload"]["set_scores_above_zero"] = nonzero
    report["identical_within_tolerance"] = worst <= TOLERANCE and sample_worst <= TOLERANCE
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the MeSH 2017 files")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--set-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--unmemoised-pairs", type=int, default=20)
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
