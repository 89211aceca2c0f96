"""Rule retrieval_index: build the BM25 index over the retrieval corpus."""

from meshdistill.stages.index import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "retrieval_index",
    sm.log[0],
    lambda logger: run(
        corpus=list(sm.input.corpus),
        corpus_format=sm.params.corpus_format,
        build=sm.params.build,
        output=sm.output.index,
        logger=logger,
    ),
)
