"""Cache behaviour across processes: hits from another process, and a killed run resumed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshdistill.testing.openai_server import OpenAITestServer

WORKER = Path(__file__).with_name("llm_worker_script.py")
sys.path.insert(0, str(WORKER.parent))
from llm_worker_script import make_requests  # noqa: E402


def run_worker(base_url: str, cache: Path, count: int, concurrency: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(WORKER), base_url, str(cache), str(count), str(concurrency)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cached_answers(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
        except sqlite3.OperationalError:  # table not created yet
            return 0


def test_cache_hits_across_processes(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    with OpenAITestServer(latency_s=0.01) as server:
        first = run_worker(server.base_url, cache, 12, 4)
        second = run_worker(server.base_url, cache, 12, 4)
    assert first["ok"] == 12 and first["from_cache"] == 0
    assert second["ok"] == 12 and second["from_cache"] == 12
    assert second["values"] == first["values"]
    assert server.total_requests == 12


def test_parallel_processes_share_one_cache_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    with OpenAITestServer(latency_s=0.02) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), server.base_url, str(cache), "20", "4"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [json.loads(w.communicate(timeout=120)[0].strip()) for w in workers]
        assert all(w.returncode == 0 for w in workers)
        again = run_worker(server.base_url, cache, 20, 4)
    assert all(o["ok"] == 20 for o in outputs)
    assert cached_answers(cache) == 20
    assert again["from_cache"] == 20
    # Each request was claimed by one process; the other waited for its answer: none paid twice.
    assert server.total_requests == 20
    assert sum(int(o["from_cache"]) for o in outputs) == 20


@pytest.mark.timeout(120)
def test_killed_run_resumes_without_repeating_answered_requests(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    total = 40
    with OpenAITestServer(latency_s=0.1) as server:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), server.base_url, str(cache), str(total), "4"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while cached_answers(cache) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        # Requests still in flight when the process died reach the server but never return.
        time.sleep(0.3)
        answered_before_kill = cached_answers(cache)
        sent_before_rerun = server.total_requests
        assert 12 <= answered_before_kill < total, "kill came too late to test resuming"

        summary = run_worker(server.base_url, cache, total, 4)

    assert summary["ok"] == total
    assert summary["from_cache"] == answered_before_kill
    # The rerun sent exactly the requests that had no cached answer ...
    assert server.total_requests - sent_before_rerun == total - answered_before_kill
    # ... so every request was answered, and none that had been answered was sent twice.
    lost_in_flight = sent_before_rerun - answered_before_kill
    assert server.total_requests == total + lost_in_flight
    assert lost_in_flight <= 4  # at most one per concurrency slot
    repeated = [r for r in make_requests(total) if server.count_for(r.messages) > 1]
    assert len(repeated) == lost_in_flight
