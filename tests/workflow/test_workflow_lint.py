"""The workflow stays `snakemake --lint` clean and its default config validates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.harness import REPO

pytestmark = pytest.mark.workflow


def test_snakemake_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("snakemake")), "--lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr


@pytest.mark.parametrize("profile", ["profiles/slurm", "profiles/generic"])
def test_cluster_profiles_plan_the_whole_workflow(workflow, profile: str) -> None:  # type: ignore[no-untyped-def]
    # A dry-run through each cluster profile loads its executor plugin and settings.
    result = workflow.snakemake("--profile", profile, "-n")
    assert "merged" in result.stdout and "questions" in result.stdout
    assert workflow.server.total_requests == 0
