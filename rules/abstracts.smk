rule abstracts:
    """Articles for one descriptor, from the local corpus or from PubMed (Entrez)."""
    input:
        corpus=abstracts_source_files(),
        mesh=config["mesh"]["source"],
    output:
        "results/abstracts/{ui}.jsonl",
    params:
        descriptor=descriptor_info,
        settings=per_descriptor("abstracts"),
        mesh_cache=config["mesh"]["cache_dir"],
    resources:
        ncbi_connections=ncbi_connections_for_abstracts(),
    log:
        "logs/abstracts/{ui}.log",
    conda:
        "../envs/pubmed.yaml"
    script:
        "../scripts/abstracts.py"
