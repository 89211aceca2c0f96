"""Rule scored: retrieval, knowledge-hierarchy score and self-evaluation per question."""

from meshdistill.stages.runtime import run_stage
from meshdistill.stages.scored import run

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "scored",
    sm.log[0],
    lambda logger: run(
        descriptor=sm.params.descriptor,
        questions_path=sm.input.questions,
        abstracts_path=sm.input.abstracts,
        index_dirs=list(sm.input.index),
        retrieval=sm.params.retrieval,
        scoring=sm.params.scoring,
        selection=sm.params.selection,
        judge=sm.params.judge,
        models=sm.params.models,
        llm=sm.params.llm,
        mesh_source=sm.input.mesh,
        mesh_cache=sm.params.mesh_cache,
        entrez=sm.params.entrez,
        threads=sm.threads,
        output=sm.output[0],
        logger=logger,
    ),
)
