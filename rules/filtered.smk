rule filtered:
    """Keep chosen/rejected question pairs that pass the thresholds and dedup, and answer the
    chosen question from the retrieved context."""
    input:
        scored="results/scored/{ui}.jsonl",
        abstracts="results/abstracts/{ui}.jsonl",
        index=retrieval_index(),
        prompts=role_prompt_files("answerer"),
    output:
        pairs="results/filtered/{ui}.jsonl",
        dropped="results/filtered/{ui}.dropped.jsonl",
    params:
        descriptor=descriptor_info,
        selection=per_descriptor("selection"),
        retrieval=per_descriptor("retrieval"),
        answerer=config["answerer"],
        models=models_for("answerer"),
        llm=config["llm"],
        quality=config["quality"],
        entrez=config["abstracts"]["entrez"],
        config_hash=descriptor_config_hash(),
    threads: llm_threads("answerer")
    resources:
        llm_slots=llm_slots("answerer"),
    log:
        "logs/filtered/{ui}.log",
    conda:
        retrieval_conda_env("../envs/llm.yaml")
    script:
        "../scripts/filtered.py"
