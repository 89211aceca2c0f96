"""bench/corpus_scale runs end to end (its --quick smoke run) and agrees with the reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "corpus_scale" / "run_bench.py"


@pytest.mark.slow
def test_quick_bench_runs_and_matches_the_reference(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--workdir", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["size"] == 2_000
    assert row["build"]["documents"] == row["ingest"]["articles"] == 2_000
    assert row["open"]["annotated_documents"] == 2_000
    assert row["reference_open"]["same_top4_as_new_index"] is True
