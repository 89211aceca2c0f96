rule retrieval_index:
    """Offline retrieval: a BM25 index over the ingested retrieval corpus (rule corpus), built
    once in bounded memory and opened memory-mapped by every job that retrieves."""
    input:
        table=retrieval_corpus_table(),
    output:
        index=directory("results/index/bm25"),
    params:
        build=config["retrieval"]["bm25"],
    log:
        "logs/retrieval_index.log",
    conda:
        "../envs/retrieval.yaml"
    script:
        "../scripts/build_index.py"


rule dense_index:
    """Offline dense retrieval: sentence embeddings of the corpus in a Qdrant collection (a local
    folder inside the index folder, or the server at retrieval.dense.url), built once."""
    input:
        corpus=config["retrieval"].get("corpus", []),
    output:
        index=directory("results/index/dense"),
    params:
        corpus_format=config["retrieval"].get("corpus_format", "auto"),
        dense=dense_build_settings(),
    threads: config["retrieval"]["dense"]["build_threads"]
    log:
        "logs/dense_index.log",
    conda:
        "../envs/dense.yaml"
    script:
        "../scripts/build_dense_index.py"
