rule corpus:
    """The local corpus ingested once: one row per PMID (newest version) and a descriptor index,
    so each abstracts job reads only its descriptor's rows."""
    input:
        files=corpus_source_files,
        mesh=config["mesh"]["source"],
    output:
        articles="results/corpus/{corpus}/articles.parquet",
        index="results/corpus/{corpus}/by_descriptor.parquet",
        manifest="results/corpus/{corpus}/manifest.json",
    wildcard_constraints:
        corpus=r"default|retrieval|D[0-9]{6,9}",
    params:
        format=corpus_source_format,
        ingest=config["corpus"],
        mesh_cache=config["mesh"]["cache_dir"],
    log:
        "logs/corpus/{corpus}.log",
    conda:
        "../envs/pubmed.yaml"
    script:
        "../scripts/corpus.py"
