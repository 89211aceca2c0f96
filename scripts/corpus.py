"""Rule corpus: the local corpus files ingested once into a table and a descriptor index."""

from pathlib import Path

from meshdistill.stages.corpus import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "corpus",
    sm.log[0],
    lambda logger: run(
        paths=list(sm.input.files),
        fmt=sm.params.format,
        ingest=sm.params.ingest,
        mesh_source=sm.input.mesh,
        mesh_cache=sm.params.mesh_cache,
        output=str(Path(sm.output.manifest).parent),
        logger=logger,
    ),
)
