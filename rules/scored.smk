rule scored:
    """Retrieve context for each question and score it: MeSH-hierarchy agreement between the
    source and the retrieved documents, plus the judge model's self-evaluation."""
    input:
        questions="results/questions/{ui}.jsonl",
        abstracts="results/abstracts/{ui}.jsonl",
        index=retrieval_index(),
        mesh=config["mesh"]["source"],
        check_tags=config["scoring"]["check_tags_file"],
        prompts=role_prompt_files("judge"),
    output:
        "results/scored/{ui}.jsonl",
    params:
        descriptor=descriptor_info,
        retrieval=per_descriptor("retrieval"),
        scoring=config["scoring"],
        selection=per_descriptor("selection"),
        judge=config["judge"],
        models=models_for("judge"),
        llm=config["llm"],
        mesh_cache=config["mesh"]["cache_dir"],
        entrez=config["abstracts"]["entrez"],
    threads: llm_threads("judge")
    resources:
        llm_slots=llm_slots("judge"),
        ncbi_connections=int(config["retrieval"]["method"] == "pubmed"),
    log:
        "logs/scored/{ui}.log",
    conda:
        retrieval_conda_env("../envs/scoring.yaml")
    script:
        "../scripts/scored.py"
