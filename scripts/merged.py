"""Rule merged: the dataset, its card, stats and plots."""

from pathlib import Path

from meshdistill.stages.merged import run
from meshdistill.stages.runtime import run_stage

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)

run_stage(
    "merged",
    sm.log[0],
    lambda logger: run(
        pairs_paths=list(sm.input.pairs),
        dropped_paths=list(sm.input.dropped),
        questions_paths=list(sm.input.questions),
        scored_paths=list(sm.input.scored),
        out_dir=str(Path(sm.output.sft).parent),
        plots_dir=str(Path(sm.output.score_plot).parent),
        descriptors=sm.params.descriptors,
        dataset=sm.params.dataset,
        selection=sm.params.selection,
        quality=sm.params.quality,
        models=sm.params.models,
        summary=sm.params.summary,
        logger=logger,
    ),
)
