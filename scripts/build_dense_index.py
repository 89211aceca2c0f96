"""Rule dense_index: embed the retrieval corpus into a Qdrant collection."""

from meshdistill.stages.index import run_dense
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "dense_index",
    sm.log[0],
    lambda logger: run_dense(
        corpus=list(sm.input.corpus),
        corpus_format=sm.params.corpus_format,
        dense=sm.params.dense,
        output=sm.output.index,
        threads=sm.threads,
        logger=logger,
    ),
)
