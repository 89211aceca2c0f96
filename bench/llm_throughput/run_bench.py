"""LLM layer throughput benchmark.

1. Concurrency: N requests, C in flight, against the local test endpoint answering after a fixed
   latency L (run in its own process so it does not share the client's interpreter). Target:
   wall time <= 1.15 x ideal, where ideal = N x L / C.
2. Cache: random lookups of stored answers in the SQLite request cache (target >= 5,000/s), and
   an end-to-end rerun of the same N requests served entirely from the cache.

Usage: .venv/bin/python bench/llm_throughput/run_bench.py [--requests 2000] [--concurrency 32]
       [--latency 0.2] [--lookups 20000] [--out bench/llm_throughput/out/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from meshdistill.llm import LLMRequest, LLMService, ModelSpec, RequestCache

#: Seconds allowed for the server subprocess to print its address.
SERVER_START_TIMEOUT_S = 30.0


def make_requests(count: int) -> list[LLMRequest]:
    return [
        LLMRequest(
            id=f"bench-{i:05d}",
            messages=[
                {"role": "system", "content": "You write exam questions. Reply with JSON only."},
                {"role": "user", "content": f"Title: study {i}\nAbstract: finding number {i}."},
            ],
            schema_name="llm_question.schema.json",
            params={"temperature": 0.0, "max_tokens": 64, "seed": 1},
        )
        for i in range(count)
    ]


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "meshdistill.testing.openai_server", "--latency", str(latency)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    started = time.monotonic()
    line = process.stdout.readline().strip()
    if not line.startswith("http://") or time.monotonic() - started > SERVER_START_TIMEOUT_S:
        process.kill()
        raise RuntimeError(f"test server did not start (got {line!r})")
    return process, line


def server_stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(base_url + "/_stats", timeout=10) as reply:
        return dict(json.loads(reply.read()))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--lookups", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path("bench/llm_throughput/out/results.json"))
    args = parser.parse_args()

    requests = make_requests(args.requests)
    process, base_url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            cache = RequestCache(Path(folder) / "cache.sqlite")
            spec = ModelSpec(
                id="bench",
                provider="openai",
                model="test-model",
                base_url=base_url,
                max_concurrency=args.concurrency,
            )
            # Warm-up: the openai package imports lazily on first use; keep that out of timing.
            LLMService(spec, None).run(make_requests(1))
            before = server_stats(base_url)["total_requests"]

            server_cpu = psutil.Process(process.pid)
            server_cpu_before = sum(server_cpu.cpu_times()[:2])
            client_cpu_before = time.process_time()
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            results = LLMService(spec, cache).run(requests)
            wall = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu_before
            server_cpu_used = sum(server_cpu.cpu_times()[:2]) - server_cpu_before
            load_after = os.getloadavg()[0]
            stats = server_stats(base_url)
            assert all(r.ok for r in results), "some requests failed"
            sent = stats["total_requests"] - before

            started = time.perf_counter()
            cached = LLMService(spec, cache).run(requests)
            cached_wall = time.perf_counter() - started
            assert all(r.from_cache for r in cached)
            assert server_stats(base_url)["total_requests"] == stats["total_requests"]

            keys = [r.cache_key for r in results]
            rng = random.Random(0)
            probe = [rng.choice(keys) for _ in range(args.lookups)]
            started = time.perf_counter()
            hits = sum(cache.get(key) is not None for key in probe)
            lookup_wall = time.perf_counter() - started
            assert hits == args.lookups
            cache.close()
    finally:
        process.terminate()
        process.wait()

    ideal = args.requests * args.latency / args.concurrency
    figures = {
        "machine": f"{platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}",
        "requests": args.requests,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "server_requests": sent,
        "server_max_in_flight": stats["max_in_flight"],
        "wall_s": round(wall, 3),
        "ideal_s": round(ideal, 3),
        "ratio_to_ideal": round(wall / ideal, 4),
        "client_cpu_ms_per_request": round(1000 * client_cpu / args.requests, 3),
        "server_cpu_ms_per_request": round(1000 * server_cpu_used / args.requests, 3),
        "machine_cores": os.cpu_count(),
        "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
        "target_ratio": 1.15,
        "cached_rerun_wall_s": round(cached_wall, 3),
        "cached_rerun_requests_per_s": round(args.requests / cached_wall, 1),
        "cache_lookups": args.lookups,
        "cache_lookups_per_s": round(args.lookups / lookup_wall, 1),
        "target_lookups_per_s": 5000,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2, sort_keys=True))
    ok = figures["ratio_to_ideal"] <= 1.15 and figures["cache_lookups_per_s"] >= 5000
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
