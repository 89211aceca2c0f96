"""Rule abstracts: the articles of one descriptor."""

from pathlib import Path

from meshdistill.stages.abstracts import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "abstracts",
    sm.log[0],
    lambda logger: run(
        descriptor=sm.params.descriptor,
        settings=sm.params.settings,
        corpus=str(Path(sm.input.corpus[0]).parent) if sm.input.corpus else None,
        output=sm.output[0],
        logger=logger,
    ),
)
