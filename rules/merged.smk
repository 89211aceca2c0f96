rule merged:
    """One dataset from every descriptor: SFT and preference JSONL, Parquet, card, stats, plots."""
    input:
        pairs=expand("results/filtered/{ui}.jsonl", ui=DESCRIPTOR_UIS),
        dropped=expand("results/filtered/{ui}.dropped.jsonl", ui=DESCRIPTOR_UIS),
        questions=expand("results/questions/{ui}.jsonl", ui=DESCRIPTOR_UIS),
        scored=expand("results/scored/{ui}.jsonl", ui=DESCRIPTOR_UIS),
        preference_prompt=config["dataset"]["preference_prompt"],
    output:
        sft="results/dataset/sft.jsonl",
        preference="results/dataset/preference.jsonl",
        parquet="results/dataset/dataset.parquet",
        card=report("results/dataset/card.md", caption="../report/card.rst", category="Dataset"),
        stats="results/dataset/stats.json",
        hf_card="results/dataset/README.md",
        dropped="results/dataset/dropped.jsonl",
        score_plot=report(
            "results/dataset/plots/score_histograms.png",
            caption="../report/score_histograms.rst",
            category="Plots",
        ),
        margin_plot=report(
            "results/dataset/plots/margin_histogram.png",
            caption="../report/margin_histogram.rst",
            category="Plots",
        ),
        coverage_plot=report(
            "results/dataset/plots/subtree_coverage.png",
            caption="../report/subtree_coverage.rst",
            category="Plots",
        ),
    params:
        descriptors=TARGETS_BY_UI,
        dataset=config["dataset"],
        selection=config["selection"],
        quality=config["quality"],
        models=config["models"],
        summary=lambda wildcards: settings_summary(),
    log:
        "logs/merged.log",
    conda:
        "../envs/dataset.yaml"
    script:
        "../scripts/merged.py"
