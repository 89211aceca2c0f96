"""Stage logic the Snakemake scripts call: one module per stage, plus shared runtime helpers."""
