"""Benchmark: ingest + BM25 index at growing synthetic corpora (build time, peak memory, index
size, per-job open time, query latency), against the in-memory bm25s retriever it replaced.

For each size, synthetic PubMed XML (meshdistill.pubmed.synthetic, 100,000 articles per file)
is written once into --workdir (kept between runs; not in the repository), then each step runs
in a fresh child process so its peak RSS is its own:

  ingest     meshdistill.corpus.ingest_corpus: the XML files -> articles.parquet (+ index)
  build      meshdistill.retrieval.bm25_build over iter_documents(articles.parquet)
  open       what a scored/filtered job pays: import, BM25Retriever.load, annotation counts
  query      search latency (k = 4, the source PMID excluded) over titles of random documents
  reference  (sizes <= --reference-max) today's pipeline before this change: parse the files
             into Article objects, bm25s build, save documents.jsonl; a job's load re-reads and
             re-fingerprints every document. Its top-4 PMIDs and scores are compared with ours.

    .venv/bin/python bench/corpus_scale/run_bench.py [--sizes 10000 100000 1000000]
    .venv/bin/python bench/corpus_scale/run_bench.py --quick   # 2,000 articles, smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ARTICLES_PER_FILE = 100_000
QUERIES = 40
K = 4


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _folder_mib(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


class _Clock:
    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = round(time.perf_counter() - self.wall, 6)
        self.cpu = round(time.process_time() - self.cpu, 6)


def corpus_files(workdir: Path, size: int) -> list[Path]:
    """The synthetic XML of ``size`` articles, written once (file i holds PMIDs from
    10,000,000 + i * 100,000 on, so every size is a prefix of the next)."""
    from meshdistill.pubmed.synthetic import write_synthetic_xml

    folder = workdir / f"xml_{size}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, first in enumerate(range(0, size, ARTICLES_PER_FILE)):
        count = min(ARTICLES_PER_FILE, size - first)
        path = folder / f"synthetic_{index:03d}_{count}.xml"
        if not path.is_file():
            partial = path.with_suffix(".partial")
            write_synthetic_xml(partial, count, seed=index, first_pmid=10_000_000 + first)
            partial.rename(path)
        paths.append(path)
    return paths


def step_ingest(workdir: Path, size: int) -> dict[str, Any]:
    from meshdistill.corpus import ingest_corpus

    paths = corpus_files(workdir, size)
    table = workdir / f"table_{size}"
    shutil.rmtree(table, ignore_errors=True)
    rss_before = _peak_rss_mib()
    with _Clock() as clock:
        manifest = ingest_corpus(paths, table)
    return {
        "articles": manifest.articles,
        "xml_mib": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
        "wall_s": clock.wall,
        "cpu_s": clock.cpu,
        "rss_after_imports_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "table_mib": _folder_mib(table),
    }


def step_build(workdir: Path, size: int) -> dict[str, Any]:
    from meshdistill.corpus import iter_documents
    from meshdistill.retrieval.bm25_build import build_bm25_index

    index = workdir / f"bm25_{size}"
    shutil.rmtree(index, ignore_errors=True)
    rss_before = _peak_rss_mib()
    with _Clock() as clock:
        manifest = build_bm25_index(iter_documents(workdir / f"table_{size}", 10_000), index)
    return {
        "documents": manifest["documents"],
        "terms": manifest["terms"],
        "postings": manifest["postings"],
        "wall_s": clock.wall,
        "cpu_s": clock.cpu,
        "rss_after_imports_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "index_mib": _folder_mib(index),
    }


def _queries(retriever: Any, size: int) -> list[tuple[str, str]]:
    rng = random.Random(size)
    rows = [rng.randrange(len(retriever)) for _ in range(QUERIES)]
    return [(retriever.store.pmid(r), retriever.store.document(r).title) for r in rows]


def _latencies(search: Any, queries: list[tuple[str, str]]) -> tuple[dict[str, float], list[Any]]:
    """Wall and CPU time per query (CPU time is what a query costs; wall time also counts
    waiting for a core on a shared machine)."""
    walls, cpus, hits = [], [], []
    for pmid, query in queries:
        wall, cpu = time.perf_counter(), time.process_time()
        found = search(query, K, {pmid})
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        hits.append([(hit.pmid, hit.score) for hit in found])
    walls.sort()
    cpus.sort()
    return {
        "query_median_ms": round(1000 * walls[len(walls) // 2], 2),
        "query_p95_ms": round(1000 * walls[int(0.95 * (len(walls) - 1))], 2),
        "query_cpu_median_ms": round(1000 * cpus[len(cpus) // 2], 2),
        "query_cpu_p95_ms": round(1000 * cpus[int(0.95 * (len(cpus) - 1))], 2),
    }, hits


def step_open(workdir: Path, size: int) -> dict[str, Any]:
    with _Clock() as imports:
        from meshdistill.retrieval import BM25Retriever
    folder = workdir / f"bm25_{size}"
    with _Clock() as opening:
        retriever = BM25Retriever.load(folder)
        retriever.search("patients", 1)  # the first query pages in the vocabulary
    with _Clock() as counting:
        counts = retriever.annotation_counts()
    reopen = []
    for _ in range(5):
        started = time.perf_counter()
        BM25Retriever.load(folder)
        reopen.append(time.perf_counter() - started)
    latency, hits = _latencies(retriever.search, _queries(retriever, size))
    (workdir / f"hits_{size}.json").write_text(json.dumps(hits))
    return {
        "import_s": imports.wall,
        "open_and_first_query_ms": round(1000 * opening.wall, 2),
        "open_cpu_ms": round(1000 * opening.cpu, 2),
        "reopen_median_ms": round(1000 * sorted(reopen)[2], 2),
        "annotation_counts_ms": round(1000 * counting.wall, 3),
        "annotated_documents": counts.documents,
        **latency,
        "peak_rss_mib": _peak_rss_mib(),
    }


def step_reference(workdir: Path, size: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from reference_bm25 import BM25Retriever as ReferenceRetriever

    from meshdistill.stages.index import _read_corpus

    paths = [str(p) for p in corpus_files(workdir, size)]
    folder = workdir / f"reference_{size}"
    shutil.rmtree(folder, ignore_errors=True)
    rss_before = _peak_rss_mib()
    with _Clock() as parsing:
        articles, _ = _read_corpus(paths, "auto")
    with _Clock() as building:
        retriever = ReferenceRetriever.build(articles)
        retriever.save(folder)
    del articles, retriever
    return {
        "parse_wall_s": parsing.wall,
        "parse_cpu_s": parsing.cpu,
        "build_wall_s": building.wall,
        "build_cpu_s": building.cpu,
        "rss_after_imports_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "index_mib": _folder_mib(folder),
    }


def step_reference_open(workdir: Path, size: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from reference_bm25 import BM25Retriever as ReferenceRetriever

    from meshdistill.retrieval import BM25Retriever

    with _Clock() as opening:
        reference = ReferenceRetriever.load(workdir / f"reference_{size}")
        reference.search("patients", 1)
    queries = _queries(BM25Retriever.load(workdir / f"bm25_{size}"), size)
    latency, hits = _latencies(reference.search, queries)
    ours = json.loads((workdir / f"hits_{size}.json").read_text())
    return {
        "open_and_first_query_ms": round(1000 * opening.wall, 2),
        "open_cpu_ms": round(1000 * opening.cpu, 2),
        **latency,
        "peak_rss_mib": _peak_rss_mib(),
        "same_top4_as_new_index": hits == [[tuple(hit) for hit in query] for query in ours],
    }


STEPS = {
    "ingest": step_ingest,
    "build": step_build,
    "open": step_open,
    "reference": step_reference,
    "reference_open": step_reference_open,
}


def run_child(step: str, workdir: Path, size: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, str(workdir), str(size)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/meshdistill_corpus_scale"))
    parser.add_argument("--reference-max", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 articles, for a smoke test")
    parser.add_argument(
        "--steps", nargs="+", choices=sorted(STEPS), help="only these steps (their inputs exist)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, workdir, size = args.child
        print(json.dumps(STEPS[step](Path(workdir), int(size))))
        return
    sizes = [2_000] if args.quick else args.sizes
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    for size in sizes:
        started = time.perf_counter()
        corpus_files(args.workdir, size)
        row: dict[str, Any] = {"size": size, "xml_write_s": round(time.perf_counter() - started)}
        steps = ["ingest", "build", "open"]
        if size <= args.reference_max:
            steps += ["reference", "reference_open"]
        for step in steps:
            if args.steps is None or step in args.steps:
                row[step] = run_child(step, args.workdir, size)
        row["load_average"] = os.getloadavg()
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
