"""Figures for the Snakemake report: score histograms, margins, subtree coverage.

Drawn with matplotlib's Agg backend (no display needed) and saved without the
"Software" PNG text chunk, so identical inputs give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from meshdistill.dataset.stats import score_values  # noqa: E402

SCORE_BINS = 20  # bins over [0, 1]
DPI = 100
FIGURE_SIZE = (9.0, 3.8)
PNG_METADATA: dict[str, str | None] = {"Software": None}
SCORE_HISTOGRAMS = "score_histograms.png"
MARGIN_HISTOGRAM = "margin_histogram.png"
SUBTREE_COVERAGE = "subtree_coverage.png"


def _score_bins() -> list[float]:
    return [float(edge) for edge in np.linspace(0.0, 1.0, SCORE_BINS + 1)]


def _present(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None]


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=DPI, metadata=PNG_METADATA)
    plt.close(figure)
    return path


def _score_histograms(pairs: Sequence[Mapping[str, Any]], path: Path) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=FIGURE_SIZE, sharey=True)
    bins = _score_bins()
    for axis, (label, kind) in zip(
        axes, (("hierarchy (MeSH agreement)", "hierarchy"), ("combined", "combined")), strict=True
    ):
        for side, colour in (("chosen", "tab:green"), ("rejected", "tab:red")):
            values = _present(score_values(pairs, f"{side}_{kind}"))
            axis.hist(values, bins=bins, alpha=0.6, color=colour, label=f"{side} (n={len(values)})")
        axis.set_xlabel(f"{label} score")
        axis.set_xlim(0.0, 1.0)
        axis.legend(loc="upper left")
    axes[0].set_ylabel("pairs")
    figure.suptitle("Scores of chosen and rejected questions")
    return _save(figure, path)


def _margin_histogram(pairs: Sequence[Mapping[str, Any]], path: Path) -> Path:
    figure, axis = plt.subplots(figsize=FIGURE_SIZE)
    margins = _present(score_values(pairs, "margin"))
    # Swapped pairs (preferred for answerability) have negative margins.
    low = -1.0 if any(margin < 0 for margin in margins) else 0.0
    bins = [float(edge) for edge in np.linspace(low, 1.0, round(SCORE_BINS * (1 - low)) + 1)]
    axis.hist(margins, bins=bins, color="tab:blue")
    axis.set_xlabel("margin: chosen minus rejected combined score")
    axis.set_ylabel("pairs")
    axis.set_xlim(low, 1.0)
    axis.set_title(f"Chosen-versus-rejected margins (n={len(margins)})")
    return _save(figure, path)


def _subtree_coverage(stats: Mapping[str, Any], path: Path) -> Path:
    subtrees = stats["counts"]["per_subtree"]
    names = list(subtrees)
    figure, axis = plt.subplots(figsize=FIGURE_SIZE)
    positions = np.arange(len(names))
    axis.bar(positions, [subtrees[n]["pairs"] for n in names], color="tab:purple")
    for x, name in zip(positions, names, strict=True):
        row = subtrees[name]
        axis.annotate(
            f"{row['descriptors_with_pairs']}/{row['descriptors']}",
            (float(x), float(row["pairs"])),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axis.set_xticks(positions, names, rotation=90 if len(names) > 12 else 0)
    axis.set_xlabel("top-level MeSH subtree (label: descriptors with pairs / selected)")
    axis.set_ylabel("pairs")
    axis.set_title("Coverage of the MeSH subtrees")
    if not names:
        axis.text(0.5, 0.5, "no descriptors", ha="center", va="center", transform=axis.transAxes)
    return _save(figure, path)


def make_plots(
    pairs: Sequence[Mapping[str, Any]], stats: Mapping[str, Any], plots_dir: Path
) -> list[Path]:
    """Write the three report figures into ``plots_dir`` and return their paths."""
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"svg.hashsalt": "meshdistill", "font.size": 9}):
        return [
            _score_histograms(pairs, plots_dir / SCORE_HISTOGRAMS),
            _margin_histogram(pairs, plots_dir / MARGIN_HISTOGRAM),
            _subtree_coverage(stats, plots_dir / SUBTREE_COVERAGE),
        ]
