"""Rule filtered: chosen/rejected pairs, thresholds, dedup and answers."""

from meshdistill.stages.filtered import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "filtered",
    sm.log[0],
    lambda logger: run(
        descriptor=sm.params.descriptor,
        scored_path=sm.input.scored,
        abstracts_path=sm.input.abstracts,
        index_dirs=list(sm.input.index),
        selection=sm.params.selection,
        retrieval=sm.params.retrieval,
        answerer=sm.params.answerer,
        models=sm.params.models,
        llm=sm.params.llm,
        quality=sm.params.quality,
        entrez=sm.params.entrez,
        config_hash=sm.params.config_hash,
        threads=sm.threads,
        pairs_output=sm.output.pairs,
        dropped_output=sm.output.dropped,
        logger=logger,
    ),
)
