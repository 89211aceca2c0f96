"""The workflow through profiles/slurm on a real one-node Slurm cluster (munge, slurmdbd on MariaDB,
slurmctld, slurmd), with snakemake-executor-plugin-slurm submitting, and polling `sacct` for,
every job, and the per-descriptor stages of several descriptors grouped into one submission.

Runs when MESHDISTILL_SLURM=1, which `python3 bootstrap.py test` sets when it runs as root on a
machine with apt-get (CI); there a cluster that cannot be installed or started fails the test.
Elsewhere (a developer's laptop) it skips.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import yaml

from meshdistill.testing.slurm_cluster import (
    MARKER,
    SLURM_CONF_DIR,
    ClusterSettings,
    SlurmCluster,
    can_run_here,
)
from tests.workflow import harness
from tests.workflow.harness import TEST_DESCRIPTORS, Workflow

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

ENABLE_ENV = "MESHDISTILL_SLURM"
PROFILE = "profiles/slurm"
DESCRIPTORS = TEST_DESCRIPTORS[:2]
SMALL_MEM_MB = 500
PER_DESCRIPTOR_RULES = ("abstracts", "questions", "scored", "filtered")
SUBMISSION = re.compile(
    r"has been submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/([^/\s]+)/"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    if os.environ.get(ENABLE_ENV) != "1":
        pytest.skip(f"{ENABLE_ENV}=1 runs it (bootstrap.py test sets it as root with apt-get)")
    reason = can_run_here()
    if reason:
        pytest.fail(f"{ENABLE_ENV}=1 but {reason}")
    running = SlurmCluster(ClusterSettings())
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_workflow_runs_on_slurm_with_descriptors_grouped(
    cluster: SlurmCluster, workflow: Workflow
) -> None:
    settings = cluster.settings
    workflow.write_config(
        harness.test_config(workflow.server.base_url, descriptors={"uis": list(DESCRIPTORS)})
    )
    # The profile's settings with this cluster's account and partition, and memory that fits any
    # CI machine.
    profile = yaml.safe_load((workflow.path(PROFILE) / "config.yaml").read_text())
    defaults = {
        **profile["default-resources"],
        "slurm_account": settings.account,
        "slurm_partition": settings.partition,
        "mem_mb": SMALL_MEM_MB,
    }
    per_rule = [
        f"{rule}:{name}={SMALL_MEM_MB if name == 'mem_mb' else value}"
        for rule, resources in profile["set-resources"].items()
        for name, value in resources.items()
    ]
    run = workflow.snakemake(
        # The workflow profile: it replaces profiles/default, as the README says to run it.
        "--workflow-profile",
        PROFILE,
        "--default-resources",
        *(f"{name}={value}" for name, value in defaults.items()),
        "--set-resources",
        *per_rule,
        "--group-components",
        f"descriptor={len(DESCRIPTORS)}",
        # The plugin waits 40 s before its first poll by default; these jobs take seconds.
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--slurm-status-command",
        "sacct",
        timeout=500,
    )
    output = run.stdout + run.stderr

    for name in ("sft.jsonl", "preference.jsonl", "dataset.parquet", "stats.json"):
        assert workflow.path(f"results/dataset/{name}").stat().st_size > 0
    assert workflow.jsonl("results/dataset/sft.jsonl")
    for ui in DESCRIPTORS:  # grouped, yet still one file per descriptor and stage
        for rule in PER_DESCRIPTOR_RULES:
            assert workflow.path(f"results/{rule}/{ui}.jsonl").stat().st_size > 0

    # Slurm job id -> log folder, named after the group or the rule the submission ran.
    submissions = dict(SUBMISSION.findall(output))
    group_logs = [log for log in submissions.values() if log.startswith("group_descriptor")]
    assert len(group_logs) == 1, output  # both descriptors' stages in one sbatch job
    alone = [log.removeprefix("rule_") for log in submissions.values() if log not in group_logs]
    assert not set(alone) & set(PER_DESCRIPTOR_RULES), output
    finished = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", output)
    grouped = sorted(rule for rule in finished if rule in PER_DESCRIPTOR_RULES)
    assert grouped == sorted(PER_DESCRIPTOR_RULES * len(DESCRIPTORS)), output
    assert len(submissions) == len(alone) + 1 < len(finished), output

    run_id = re.search(r"SLURM run ID: (\S+)", output)
    assert run_id, output
    accounted = cluster.accounted_jobs(name=run_id.group(1))
    assert sorted(job["JobIDRaw"] for job in accounted) == sorted(submissions), accounted
    for job in accounted:
        assert job["State"] == "COMPLETED" and job["ExitCode"] == "0:0", job
        assert job["Account"] == settings.account and job["Partition"] == settings.partition
    # The group runs its jobs one at a time, so it asks for one job's CPU and memory, and for
    # the sum of its jobs' runtimes.
    group = next(job for job in accounted if submissions[job["JobIDRaw"]] == group_logs[0])
    assert (group["AllocCPUS"], group["ReqMem"]) == ("1", f"{SMALL_MEM_MB}M"), group
    chain_runtime = sum(profile["set-resources"][rule]["runtime"] for rule in PER_DESCRIPTOR_RULES)
    assert group["Timelimit"] == _minutes(chain_runtime * len(DESCRIPTORS)), group


def _minutes(total: int) -> str:
    """A time limit as sacct prints it (HH:MM:SS)."""
    return f"{total // 60:02d}:{total % 60:02d}:00"


def test_stopping_removes_the_configuration_it_wrote(cluster: SlurmCluster) -> None:
    # Last in this module: it stops the module's cluster (the fixture's stop is then a no-op).
    conf = SLURM_CONF_DIR / "slurm.conf"
    assert conf.read_text().startswith(MARKER)
    cluster.stop()
    assert not conf.exists() and not (SLURM_CONF_DIR / "slurmdbd.conf").exists()
