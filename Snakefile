# meshdistill: MeSH knowledge-hierarchy guided distillation of biomedical training data.
# Stages, one file target per MeSH descriptor:
#   corpus (once) -> abstracts -> questions -> scored -> filtered -> dataset (merged)

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/retrieval.smk"
include: "rules/corpus.smk"
include: "rules/abstracts.smk"
include: "rules/questions.smk"
include: "rules/scored.smk"
include: "rules/filtered.smk"
include: "rules/merged.smk"


rule all:
    input:
        dataset_outputs(),
    default_target: True
