"""The published dataset: SFT and preference records, parquet table, card, plots."""

from meshdistill.dataset.card import render_card, render_hf_readme
from meshdistill.dataset.plots import make_plots
from meshdistill.dataset.records import (
    DEFAULT_PREFERENCE_INSTRUCTION,
    build_provenance,
    to_preference_record,
    to_sft_record,
)
from meshdistill.dataset.stats import compute_stats, subtree_of
from meshdistill.dataset.writer import remove_cross_descriptor_duplicates, write_dataset

__all__ = [
    "DEFAULT_PREFERENCE_INSTRUCTION",
    "build_provenance",
    "compute_stats",
    "make_plots",
    "remove_cross_descriptor_duplicates",
    "render_card",
    "render_hf_readme",
    "subtree_of",
    "to_preference_record",
    "to_sft_record",
    "write_dataset",
]
