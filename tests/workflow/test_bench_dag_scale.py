"""bench/dag_scale --quick: the workflow's dry-run over 200 descriptors of the full 2017 MeSH
tree and the toy yardstick's schedule the same jobs, and the report carries the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_MESH = REPO.parent / "shared" / "data" / "mesh2017" / "desc2017-trees.xml"
QUICK_DESCRIPTORS = 200
# Four jobs per descriptor, the corpus ingest, one index, the merge and `all`.
QUICK_JOBS = 4 * QUICK_DESCRIPTORS + 4


@pytest.mark.slow
def test_quick_bench_runs_both_dags(tmp_path: Path) -> None:
    if not SHARED_MESH.is_file():
        pytest.skip(f"shared MeSH 2017 data not found at {SHARED_MESH}")
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "dag_scale" / "run_bench.py"), "--quick"]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (point,) = json.loads(out.read_text())["points"]
    assert point["descriptors"] == QUICK_DESCRIPTORS
    assert point["jobs"] == QUICK_JOBS
    for figure in ("real_wall_s", "toy_wall_s", "wall_ratio", "cpu_ratio", "real_peak_rss_mib"):
        assert point[figure] > 0, figure
    assert len(point["runs"]["real"]) == len(point["runs"]["toy"]) == 1
