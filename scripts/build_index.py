"""Rule retrieval_index: build the BM25 index over the ingested retrieval corpus table."""

from meshdistill.stages.index import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "retrieval_index",
    sm.log[0],
    lambda logger: run(
        table=sm.input.table,
        build=sm.params.build,
        output=sm.output.index,
        logger=logger,
    ),
)
