"""Rule abstracts: the articles of one descriptor."""

from meshdistill.stages.abstracts import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "abstracts",
    sm.log[0],
    lambda logger: run(
        descriptor=sm.params.descriptor,
        settings=sm.params.settings,
        mesh_source=sm.input.mesh,
        mesh_cache=sm.params.mesh_cache,
        output=sm.output[0],
        logger=logger,
    ),
)
