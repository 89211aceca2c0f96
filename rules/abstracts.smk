rule abstracts:
    """Articles for one descriptor, from the ingested local corpus or from PubMed (Entrez)."""
    input:
        corpus=abstracts_corpus_files(),
    output:
        "results/abstracts/{ui}.jsonl",
    params:
        descriptor=descriptor_info,
        settings=per_descriptor("abstracts"),
    resources:
        ncbi_connections=ncbi_connections_for_abstracts(),
    log:
        "logs/abstracts/{ui}.log",
    conda:
        "../envs/pubmed.yaml"
    script:
        "../scripts/abstracts.py"
