rule retrieval_index:
    """Offline retrieval: a BM25 index over the configured corpus, built once and reused."""
    input:
        corpus=config["retrieval"].get("corpus", []),
    output:
        index=directory("results/index/bm25"),
    params:
        corpus_format=config["retrieval"].get("corpus_format", "auto"),
    log:
        "logs/retrieval_index.log",
    conda:
        "../envs/retrieval.yaml"
    script:
        "../scripts/build_index.py"
