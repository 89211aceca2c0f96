"""Benchmark: PubMed XML parsing speed (articles/s, one process) and memory at two file sizes.

Writes synthetic PubMed XML files in NLM's element layout into a temporary folder, then parses
each one in a fresh child process (so peak RSS belongs to that parse alone) and reports
articles/s (wall and CPU), peak RSS and the tracemalloc peak of Python allocations.
Flat memory shows as the same peak at both sizes.

    .venv/bin/python bench/pubmed_parse/bench_parse.py [--sizes 20000 40000] [--gzip]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def parse_once(path: Path, trace: bool) -> dict[str, float]:
    import tracemalloc

    from meshdistill.pubmed.xml import iter_pubmed_xml

    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    count = headings = 0
    for article in iter_pubmed_xml(path):
        count += 1
        headings += len(article.mesh_headings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {
        "articles": count,
        "headings": headings,
        "wall_s": round(wall, 3),
        "articles_per_s_wall": round(count / wall),
        "articles_per_s_cpu": round(count / cpu),
        "rss_before_mib": round(rss_before_kb / 1024, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if trace:
        result["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 40000])
    parser.add_argument("--gzip", action="store_true", help="write and parse .xml.gz files")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "TRACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(parse_once(Path(args.child[0]), args.child[1] == "1")))
        return

    from meshdistill.pubmed.synthetic import write_synthetic_xml

    with tempfile.TemporaryDirectory(prefix="bench_pubmed_") as folder:
        for size in args.sizes:
            path = Path(folder) / f"synthetic_{size}.xml{'.gz' if args.gzip else ''}"
            started = time.perf_counter()
            write_synthetic_xml(path, size, seed=size)
            written = time.perf_counter() - started
            row: dict[str, object] = {
                "articles_written": size,
                "file_mib": round(path.stat().st_size / 2**20, 1),
                "write_s": round(written, 1),
            }
            for trace in (False, True):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), "1" if trace else "0"],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                measured = json.loads(out)
                if trace:
                    row["tracemalloc_peak_mib"] = measured["tracemalloc_peak_mib"]
                else:
                    row.update(measured)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
