"""Rule questions: every generator writes one question per abstract."""

from meshdistill.stages.questions import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "questions",
    sm.log[0],
    lambda logger: run(
        descriptor=sm.params.descriptor,
        abstracts_path=sm.input.abstracts,
        generators=sm.params.generators,
        models=sm.params.models,
        llm=sm.params.llm,
        quality=sm.params.quality,
        threads=sm.threads,
        output=sm.output[0],
        logger=logger,
    ),
)
