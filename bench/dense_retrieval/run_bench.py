"""Dense retrieval timings: model load, index build and query latency, beside BM25.

Builds a dense index (bundled all-MiniLM-L6-v2, Qdrant's embedded local folder) over the
bundled sample and, for scale, over a corpus of N distinct variants of the sample's articles
(each title tagged with its copy number, so every text is embedded), then times questions
against it with the source excluded, as the scoring stage asks them.

    .venv/bin/python bench/dense_retrieval/run_bench.py [--scaled 2000] [--queries 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from meshdistill.pubmed.corpus import load_corpus  # noqa: E402
from meshdistill.records import Article  # noqa: E402
from meshdistill.retrieval import BM25Retriever, DenseRetriever, DenseSettings  # noqa: E402
from meshdistill.retrieval.base import Retriever  # noqa: E402

SETTINGS = DenseSettings(model=None, url=None, api_key_env=None, batch_size=64)


def variants(articles: list[Article], count: int) -> list[Article]:
    return [
        replace(
            articles[i % len(articles)],
            pmid=str(80_000_000 + i),
            title=f"{articles[i % len(articles)].title} (variant {i})",
        )
        for i in range(count)
    ]


def latencies_ms(retriever: Retriever, articles: list[Article], queries: int) -> dict[str, float]:
    times = []
    for article in (articles * (queries // len(articles) + 1))[:queries]:
        started = time.perf_counter()
        retriever.search(article.title, 4, exclude_pmids={article.pmid})
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def measure(articles: list[Article], queries: int, folder: Path) -> dict[str, object]:
    started = time.perf_counter()
    # Opening sets torch to one thread (the query setting); the build gets every core.
    with DenseRetriever.build(articles, SETTINGS, folder / "index", threads=os.cpu_count()):
        pass
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    with DenseRetriever.open(folder / "index", SETTINGS, exact_search=True) as dense:
        open_s = time.perf_counter() - started
        dense_latency = latencies_ms(dense, articles, queries)
    bm25 = BM25Retriever.build(articles)
    return {
        "documents": len(articles),
        "dense_build_s (model load + embed + store)": round(build_s, 2),
        "dense_open_s (model load + digest + open)": round(open_s, 2),
        "dense_query": dense_latency,
        "bm25_query": latencies_ms(bm25, articles, queries),
        "index_folder_MiB": round(
            sum(p.stat().st_size for p in (folder / "index").rglob("*") if p.is_file()) / 2**20, 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scaled", type=int, default=2000, help="size of the scaled corpus")
    parser.add_argument("--queries", type=int, default=64)
    args = parser.parse_args()

    started = time.perf_counter()
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    import_s = time.perf_counter() - started
    sample, _ = load_corpus([REPO / "data/corpus/sample_pubmed.xml"])
    report: dict[str, object] = {"import_torch_sentence_transformers_s": round(import_s, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        report["sample"] = measure(sample, args.queries, Path(tmp) / "sample")
        if args.scaled:
            scaled = variants(sample, args.scaled)
            report["scaled"] = measure(scaled, args.queries, Path(tmp) / "scaled")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
