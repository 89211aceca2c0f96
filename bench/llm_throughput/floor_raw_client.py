"""Control for the throughput benchmark: the same test endpoint driven by a bare asyncio socket
client (no openai, no httpx, no cache). Its ratio to the ideal is the best this machine can do
right now, so it separates machine load from the library's own overhead.

Usage: .venv/bin/python bench/llm_throughput/floor_raw_client.py [--requests 2000]
       [--concurrency 32] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

from run_bench import start_server


async def drive(port: int, count: int, concurrency: int) -> float:
    body = json.dumps(
        {"model": "test-model", "messages": [{"role": "user", "content": "hello"}]}
    ).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    request = head.encode() + body
    remaining = [count]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(request)
            await writer.drain()
            headers = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    process, base_url = start_server(args.latency)
    try:
        port = urlsplit(base_url).port
        assert port is not None
        load_before = os.getloadavg()[0]
        wall = asyncio.run(drive(port, args.requests, args.concurrency))
    finally:
        process.terminate()
        process.wait()
    ideal = args.requests * args.latency / args.concurrency
    print(
        json.dumps(
            {
                "raw_client_wall_s": round(wall, 3),
                "ideal_s": round(ideal, 3),
                "raw_client_ratio_to_ideal": round(wall / ideal, 4),
                "load_average_1min_before": round(load_before, 2),
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
