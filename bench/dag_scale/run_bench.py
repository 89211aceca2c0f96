"""Dry-run cost of the workflow's DAG on the full 2017 MeSH tree, against a toy yardstick.

Usage (from the repository root):

    .venv/bin/python bench/dag_scale/run_bench.py [--sizes 1000 5000 all] [--repeats 2]
        [--data ../shared/data/mesh2017] [--out bench/dag_scale/out/report.json] [--quick]

For each size N (a number of descriptors, or `all` for the whole tree) it runs `snakemake -n`
twice over the same jobs, each in a fresh temporary folder so that no result or metadata exists:

- the project's workflow (a copy of Snakefile, rules/, scripts/, config.yaml, profiles/, ...),
  with a config overlay pointing `mesh.source` at the full tree and selecting N descriptors
  (the first N in tree-number order; `all` selects the 16 category letters as subtrees, the
  way a user selects the whole of MeSH);
- the yardstick `toy/Snakefile`: the same rules and files, trivial shell commands, no params,
  conda, resources or threads, and the descriptor UIs read from a text file.

Each run's wall time, CPU seconds (user + system) and peak RSS come from `os.wait4` on the
snakemake process. With --repeats R each point runs R times and the minimum is kept (the
machine is shared; the minimum is the run least disturbed by others). The ratio is the real
workflow's minimum over the toy's. Both runs must schedule the same number of jobs (checked from
the dry-run's job table). `--quick` is a smoke run at 200 descriptors, once each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from meshdistill.mesh import MeshTree

REPO_ROOT = Path(__file__).resolve().parents[1].parent
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mesh2017"
MESH_FILE = "desc2017-trees.xml"
# What a copy of the workflow needs to parse (the package itself is imported from src/).
WORKFLOW_PARTS = (
    "Snakefile",
    "config.yaml",
    "rules",
    "scripts",
    "schemas",
    "envs",
    "report",
    "profiles",
    "prompts",
    "data",
)
# Files the toy's rules read; they only have to exist.
TOY_INPUTS = (
    "corpus.xml",
    "mesh.xml",
    "check_tags.tsv",
    "question_general.yaml",
    "question_biomedical.yaml",
    "judge.yaml",
    "answer.yaml",
    "preference.yaml",
)
QUICK_SIZE = 200
TOTAL_JOBS = re.compile(r"^total\s+(\d+)", re.MULTILINE)
SCRIPT_DIRECTIVE = re.compile(r'script:\n(\s+)"[^"]+"')


@dataclass(frozen=True)
class Run:
    """One `snakemake -n` process."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    jobs: int


def descriptor_order(tree: MeshTree) -> list[str]:
    """Every UI once, in the order of its first tree number (a reproducible, category-mixed
    prefix for any N)."""
    seen: dict[str, None] = {}
    for tree_number in sorted(tn for ui in tree.uis for tn in tree.tree_numbers(ui)):
        seen.setdefault(tree.ui_for_tree_number(tree_number), None)
    return list(seen)


def categories(tree: MeshTree) -> list[str]:
    return sorted({tn[0] for ui in tree.uis for tn in tree.tree_numbers(ui)})


def run_snakemake(
    workdir: Path,
    extra: Sequence[str],
    log_path: Path,
    dry_run: bool = True,
    checkout: Path = REPO_ROOT,
) -> Run:
    """Run `snakemake -n` (or a real run) in ``workdir``; its resource use measured by wait4 on
    that process (with a real run, also on the jobs it waited for)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(checkout / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [sys.executable, "-m", "snakemake", *(["-n"] if dry_run else []), "--cores", "2"]
    command += extra
    with log_path.open("w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log_path.read_text()
    if process.returncode != 0:
        raise RuntimeError(f"snakemake failed in {workdir} (see {log_path}):\n{output[-3000:]}")
    totals = TOTAL_JOBS.findall(output)
    if not dry_run:
        totals = re.findall(r"(\d+) of \1 steps \(100%\) done", output)
    if not totals:
        raise RuntimeError(f"no job table in the dry-run output {log_path}")
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        jobs=int(totals[-1]),
    )


def real_workflow_run(
    scratch: Path,
    mesh_file: Path,
    cache_dir: Path,
    selection: dict[str, Any],
    tag: str,
    checkout: Path,
    scripts: bool = True,
) -> Run:
    """The project's workflow; without ``scripts``, each `script:` becomes `shell: "true"` (a
    diagnosis: how much of the gap is Snakemake's per-job handling of `script:`)."""
    workdir = scratch / f"real-{tag}"
    workdir.mkdir()
    for part in WORKFLOW_PARTS:
        source = checkout / part
        if source.is_dir():
            shutil.copytree(source, workdir / part)
        else:
            shutil.copy2(source, workdir / part)
    overlay = {
        "mesh": {"source": str(mesh_file), "cache_dir": str(cache_dir)},
        "descriptors": {"uis": [], "names": [], "subtrees": [], "overrides": {}, **selection},
    }
    (workdir / "bench.yaml").write_text(yaml.safe_dump(overlay))
    if not scripts:
        for rules in (workdir / "rules").glob("*.smk"):
            text = SCRIPT_DIRECTIVE.sub(r'shell:\n\1"true"', rules.read_text())
            rules.write_text(text)
    log_path = scratch / f"real-{tag}.log"
    return run_snakemake(workdir, ["--configfile", "bench.yaml"], log_path, checkout=checkout)


def toy_workdir(scratch: Path, uis: Sequence[str], tag: str) -> Path:
    workdir = scratch / f"toy-{tag}"
    (workdir / "inputs").mkdir(parents=True)
    shutil.copy2(BENCH_DIR / "toy" / "Snakefile", workdir / "Snakefile")
    for name in TOY_INPUTS:
        (workdir / "inputs" / name).write_text("input\n")
    (workdir / "uis.txt").write_text("\n".join(uis) + "\n")
    return workdir


def toy_run(scratch: Path, uis: Sequence[str], tag: str) -> Run:
    return run_snakemake(toy_workdir(scratch, uis, tag), [], scratch / f"toy-{tag}.log")


def scheduler_runs(order: list[str], size: int, schedulers: Sequence[str]) -> list[dict[str, Any]]:
    """Really run the toy's jobs (each a `touch`) under each scheduler: what the scheduler
    itself costs when thousands of jobs are ready at once."""
    runs = []
    for scheduler in schedulers:
        with tempfile.TemporaryDirectory(prefix="dag_scale-") as scratch_name:
            scratch = Path(scratch_name)
            workdir = toy_workdir(scratch, order[:size], scheduler)
            run = run_snakemake(
                workdir, ["--scheduler", scheduler], scratch / f"{scheduler}.log", dry_run=False
            )
        print(f"scheduler {scheduler}: {run}", file=sys.stderr)
        runs.append({"scheduler": scheduler, "descriptors": size, **asdict(run)})
    return runs


def measure_point(
    size: str,
    tree: MeshTree,
    order: list[str],
    mesh_file: Path,
    cache_dir: Path,
    repeats: int,
    checkout: Path,
    without_scripts: bool = False,
) -> dict[str, Any]:
    if size == "all":
        uis = order
        selection: dict[str, Any] = {
            "subtrees": [{"tree_number": letter} for letter in categories(tree)]
        }
    else:
        uis = order[: int(size)]
        selection = {"uis": uis}
    real: list[Run] = []
    toy: list[Run] = []
    shell: list[Run] = []
    for attempt in range(repeats):
        with tempfile.TemporaryDirectory(prefix="dag_scale-") as scratch_name:
            scratch = Path(scratch_name)
            tag = f"{size}-{attempt}"
            toy.append(toy_run(scratch, uis, tag))
            real.append(real_workflow_run(scratch, mesh_file, cache_dir, selection, tag, checkout))
            if without_scripts:
                shell.append(
                    real_workflow_run(
                        scratch, mesh_file, cache_dir, selection, f"{tag}-shell", checkout, False
                    )
                )
        print(f"{size} #{attempt + 1}: real {real[-1]}, toy {toy[-1]}", file=sys.stderr)
    if {run.jobs for run in real} != {run.jobs for run in toy}:
        raise RuntimeError(
            f"{size}: the workflow schedules {real[0].jobs} jobs, the toy {toy[0].jobs}"
        )
    best_real = min(real, key=lambda run: run.wall_s)
    best_toy = min(toy, key=lambda run: run.wall_s)
    diagnosis = {}
    if shell:
        diagnosis = {
            "without_scripts_wall_s": round(min(run.wall_s for run in shell), 2),
            "without_scripts_cpu_s": round(min(run.cpu_s for run in shell), 2),
            "without_scripts_cpu_ratio": round(
                min(run.cpu_s for run in shell) / min(run.cpu_s for run in toy), 3
            ),
        }
    return {
        "size": size,
        "descriptors": len(uis),
        "jobs": real[0].jobs,
        "repeats": repeats,
        "real_wall_s": round(best_real.wall_s, 2),
        "toy_wall_s": round(best_toy.wall_s, 2),
        "wall_ratio": round(best_real.wall_s / best_toy.wall_s, 3),
        "real_cpu_s": round(min(run.cpu_s for run in real), 2),
        "toy_cpu_s": round(min(run.cpu_s for run in toy), 2),
        "cpu_ratio": round(min(run.cpu_s for run in real) / min(run.cpu_s for run in toy), 3),
        "real_peak_rss_mib": round(max(run.peak_rss_mib for run in real), 1),
        "toy_peak_rss_mib": round(max(run.peak_rss_mib for run in toy), 1),
        **diagnosis,
        "runs": {
            "real": [asdict(run) for run in real],
            "toy": [asdict(run) for run in toy],
            "without_scripts": [asdict(run) for run in shell],
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", nargs="*", default=["1000", "5000", "all"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE} descriptors, once")
    parser.add_argument(
        "--scheduler-size",
        type=int,
        default=0,
        help="also really run the toy's jobs for this many descriptors under each scheduler",
    )
    parser.add_argument("--schedulers", nargs="+", default=["ilp", "greedy"])
    parser.add_argument(
        "--without-scripts",
        action="store_true",
        help="also run the workflow with each script: replaced by a trivial shell: (diagnosis)",
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=REPO_ROOT,
        help="the project checkout whose workflow and src/ run (e.g. an export of main, to "
        "compare before and after)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    sizes = [str(QUICK_SIZE)] if args.quick else args.sizes
    repeats = 1 if args.quick else args.repeats
    mesh_file = (args.data / MESH_FILE).resolve()
    if not mesh_file.is_file():
        raise SystemExit(f"{mesh_file} not found: pass --data with the 2017 MeSH tree")
    cache_dir = BENCH_DIR / "out" / "mesh_cache"
    # The workflow's runs read the tree through this Parquet cache, as every run after the
    # first one does; building it here keeps that one-off cost out of the timed runs.
    tree = MeshTree.load(mesh_file, cache_dir=cache_dir)
    order = descriptor_order(tree)
    checkout = args.checkout.resolve()
    points = [
        measure_point(
            size, tree, order, mesh_file, cache_dir, repeats, checkout, args.without_scripts
        )
        for size in sizes
    ]
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        },
        "checkout": str(checkout),
        "points": points,
    }
    if args.scheduler_size:
        report["schedulers"] = scheduler_runs(order, args.scheduler_size, args.schedulers)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
