rule questions:
    """Every generator writes one question per abstract."""
    input:
        abstracts="results/abstracts/{ui}.jsonl",
        prompts=role_prompt_files("generators"),
    output:
        "results/questions/{ui}.jsonl",
    params:
        descriptor=descriptor_info,
        generators=config["generators"],
        models=models_for("generators"),
        llm=config["llm"],
        quality=config["quality"],
    threads: llm_threads("generators")
    resources:
        llm_slots=llm_slots("generators"),
    log:
        "logs/questions/{ui}.log",
    conda:
        "../envs/llm.yaml"
    script:
        "../scripts/questions.py"
