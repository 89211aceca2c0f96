"""The dataset card (``card.md``) and the Hugging Face ``README.md`` that wraps it.

``settings_summary`` is the workflow's account of how the data was made. Known keys get
their own sections; any other key still appears under "Other settings", and the whole
summary is appended as JSON, so nothing the workflow records is lost:

* ``title``: card heading; ``description``: one paragraph on purpose and use.
* ``config_hash``: sha256 of the resolved configuration.
* ``corpus``: where the abstracts came from (mapping or text).
* ``descriptor_selection``: how descriptors were chosen (mapping or text).
* ``models``: model id -> settings (backend, name, temperature, ...).
* ``generators``: generator id -> {"model", "prompt"}; ``judge`` / ``answer``: mappings.
* ``prompts``: prompt name -> {"version", "sha256"}.
* ``scoring``: measure, IC kind, weights; ``retrieval``: method, k;
  ``selection``, ``dedup`` and ``quality``: thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DEFAULT_TITLE = "MeSH-guided biomedical question dataset (KAILIN method)"
SECTION_KEYS = (
    "title",
    "description",
    "config_hash",
    "corpus",
    "descriptor_selection",
    "models",
    "generators",
    "judge",
    "answer",
    "prompts",
    "scoring",
    "retrieval",
    "selection",
    "dedup",
    "quality",
)
SCORE_LABELS = {
    "chosen_hierarchy": "chosen: hierarchy",
    "rejected_hierarchy": "rejected: hierarchy",
    "chosen_self_eval": "chosen: self-evaluation",
    "rejected_self_eval": "rejected: self-evaluation",
    "chosen_combined": "chosen: combined",
    "rejected_combined": "rejected: combined",
    "margin": "margin (chosen - rejected combined)",
}
DROP_EXPLANATIONS = {
    "question_failed": "the generator gave no usable reply, or the question was not scored",
    "question_scaffolding": "the question echoes its prompt: a label such as 'Title:', "
    "braces or brackets, the instruction's words, or a reference to 'the abstract'",
    "question_copies_example": "the question repeats or nearly repeats a worked example of "
    "its prompt",
    "question_copies_title": "the question is its source's title with a question word in "
    "front, not a question a reader would ask",
    "question_not_single": "not exactly one question: no or several question marks, several "
    "lines, no capital start, or too few words or characters, or too many characters",
    "question_not_standalone": "the question points at something it never names ('this "
    "approach'), so it cannot be read without its abstract",
    "question_too_vague": "the question asks what something is ('What is the plasma tau test?'), "
    "not what was found about it",
    "question_repeats_word": "the question names one content word twice, once in a phrase its "
    "source never uses ('a kidney outcome on renal outcomes'): garbled in the writing",
    "question_off_topic": "the question is not about its abstract: too few content words "
    "shared with its title and abstract, several its source never uses, a judgement ('best') "
    "the source never makes, or an abbreviation it coins",
    "too_few_questions": "fewer than two usable questions for the abstract",
    "judge_failed": "no self-evaluation where one is required",
    "below_min_score": "even the best question scored below the minimum",
    "above_score_ceiling": "both questions already scored above the ceiling: no preference signal",
    "margin_too_small": "chosen and rejected scored too close to tell apart",
    "above_kailin_threshold": "a generator's hierarchy score was above KAILIN's filter threshold",
    "near_duplicate": "the chosen question nearly repeats an earlier kept one",
    "answer_failed": "no usable answer to the chosen question",
    "answer_empty": "the answer has no words",
    "answer_truncated": "the answer was cut by the token limit or stops mid-sentence",
    "answer_loops": "the answer repeats itself (recurring word runs, or one character many "
    "times in a row)",
    "answer_too_long": "the answer has more sentences than allowed",
    "answer_restates_question": "the answer adds too few words to its question",
    "answer_off_question": "the answer shares no content word with its question: it answers "
    "something else",
    "answer_lacks_figure": "the question asks how many, how much or how long and the answer "
    "states no figure",
    "answer_unsupported": "too few of the answer's content words occur in the abstract and "
    "retrieved context, a sentence of it is stitched together from several of theirs, or it "
    "states a figure they do not hold",
    "answer_reverses_source": "the answer states a figure of its source in the opposite "
    "direction ('smaller' where the sentence with that figure says 'larger')",
    "budget_exhausted": "the token or cost budget ran out first",
}


def _text(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _cell(value: Any) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines if rows else lines + ["| " + " | ".join(["-"] * len(header)) + " |"]


def _mapping_list(value: Any) -> list[str]:
    """A mapping as a bullet list (one level), anything else as one line."""
    if isinstance(value, Mapping):
        return [f"- **{key}**: {_text(value[key])}" for key in sorted(value)] or ["- (none)"]
    return [_text(value)]


def _settings_sections(summary: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, heading in (
        ("corpus", "Corpus"),
        ("descriptor_selection", "Descriptor selection"),
        ("retrieval", "Retrieval"),
        ("scoring", "Scoring"),
        ("selection", "Pair selection"),
        ("dedup", "Near-duplicate removal"),
        ("quality", "Quality gate settings"),
        ("judge", "Self-evaluation (judge)"),
        ("answer", "Answers"),
    ):
        if key in summary:
            lines += ["", f"### {heading}", "", *_mapping_list(summary[key])]
    if "models" in summary:
        models = summary["models"]
        lines += ["", "### Models", ""]
        lines += _table(["model id", "settings"], [[m, models[m]] for m in sorted(models)])
    if "generators" in summary:
        generators = summary["generators"]
        lines += ["", "### Question generators", ""]
        lines += _table(
            ["generator", "model", "prompt"],
            [
                [g, _get(generators[g], "model"), _get(generators[g], "prompt")]
                for g in sorted(generators)
            ],
        )
    if "prompts" in summary:
        prompts = summary["prompts"]
        lines += ["", "### Prompts", ""]
        lines += _table(
            ["prompt", "version", "sha256"],
            [[p, _get(prompts[p], "version"), _get(prompts[p], "sha256")] for p in sorted(prompts)],
        )
    other = {k: v for k, v in summary.items() if k not in SECTION_KEYS}
    if other:
        lines += ["", "### Other settings", "", *_mapping_list(other)]
    return lines


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else value


def render_card(stats: Mapping[str, Any], settings_summary: Mapping[str, Any]) -> str:
    """Markdown card: what was built, from what, how, counts, scores, drops, cost."""
    counts = stats["counts"]
    descriptors = counts["per_descriptor"]
    lines = [f"# {settings_summary.get('title', DEFAULT_TITLE)}", ""]
    if "description" in settings_summary:
        lines += [_text(settings_summary["description"]), ""]
    lines += [
        "## What was built",
        "",
        f"- {counts['pairs']} preference pairs (`preference.jsonl`, TRL DPO "
        "prompt/chosen/rejected layout)",
        f"- {counts['pairs']} supervised examples (`sft.jsonl`, chat `messages` layout)",
        "- `dataset.parquet`: one row per pair with every field, including the full pair record",
        f"- from {counts['source_abstracts']} PubMed abstracts under {len(descriptors)} MeSH "
        "descriptors; "
        f"{counts['dropped']} drop records (`dropped.jsonl`)",
        f"- configuration sha256: `{_text(settings_summary.get('config_hash'))}`",
        "",
        "Each abstract got one question per generator. Each question's retrieved context "
        "documents were scored by how well their MeSH headings agree with the source "
        "abstract's headings in the MeSH hierarchy, combined with an LLM self-evaluation; the "
        "best question is `chosen`, the worst `rejected`, and the chosen one was answered.",
        "",
        *_warning_lines(stats),
        "## How",
        *_settings_sections(settings_summary),
        "",
        "## Counts per descriptor",
        "",
        *_table(
            ["UI", "name", "tree numbers", "pairs", "dropped"],
            [
                [ui, r["name"], ", ".join(r["tree_numbers"]), r["pairs"], r["dropped"]]
                for ui, r in descriptors.items()
            ],
        ),
        "",
        "## Coverage per MeSH subtree",
        "",
        *_table(
            ["subtree", "descriptors", "descriptors with pairs", "pairs"],
            [
                [s, r["descriptors"], r["descriptors_with_pairs"], r["pairs"]]
                for s, r in counts["per_subtree"].items()
            ],
        ),
        "",
        "## Which generator won",
        "",
        *_generator_lines(stats["generators"]),
        "",
        *_preference_lines(stats["preferred_by"]),
        "## Score distributions",
        "",
        *_table(
            ["score", "n", "missing", "min", "median", "mean", "max"],
            [
                [
                    SCORE_LABELS.get(name, name),
                    d["count"],
                    d["missing"],
                    d["min"],
                    d["median"],
                    d["mean"],
                    d["max"],
                ]
                for name, d in stats["scores"].items()
            ],
        ),
        "",
        "## Judge spread",
        "",
        *_judge_lines(stats["judge"]),
        "",
        "## Quality gates",
        "",
        "Every generated question and answer passed these gates (`quality` settings). A try "
        "that failed one was asked again (*tries turned away*); a record whose tries all "
        "failed was dropped with the last gate's name as its reason (*dropped*).",
        "",
        *_table(
            ["gate", "applies to", "tries turned away", "dropped", "rejects"],
            [
                [
                    gate,
                    row["applies_to"],
                    row["turned_away"],
                    row["dropped"],
                    DROP_EXPLANATIONS.get(gate, ""),
                ]
                for gate, row in stats["quality_gates"].items()
            ],
        ),
        "",
        "## What was dropped and why",
        "",
        *_table(
            ["reason", "count", "meaning"],
            [
                [reason, n, DROP_EXPLANATIONS.get(reason, "")]
                for reason, n in stats["drops"]["per_reason"].items()
            ],
        ),
        "",
        *_table(
            ["descriptor", "drops by reason"],
            [
                [ui, ", ".join(f"{r}: {n}" for r, n in reasons.items())]
                for ui, reasons in stats["drops"]["per_descriptor"].items()
            ],
        ),
        "",
        "## Token use and cost",
        "",
        *_usage_lines(stats["usage"]),
        "",
        "## Full settings",
        "",
        "```json",
        json.dumps(settings_summary, sort_keys=True, indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


def _preference_lines(preferred_by: Mapping[str, int]) -> list[str]:
    """How many pairs the score decided and how many were swapped for answerability."""
    swapped = preferred_by.get("answerability", 0)
    if not swapped:
        return []
    return [
        f"{swapped} pair(s) were swapped (`preferred_by: answerability`): no answer to the "
        "higher-scoring question passed the answer gates and one to the other question did, so "
        "that question is the chosen one and the margin is negative "
        "(`selection.unanswerable_chosen`).",
        "",
    ]


def judge_warning(judge: Mapping[str, Any]) -> str | None:
    """A warning when the judge's self-evaluation did not discriminate, else None."""
    if judge["discriminates"]:
        return None
    if judge["count"] == 0:
        return "the judge rated no question: the self-evaluation added nothing"
    if judge["distinct"] == 1:
        return (
            f"the judge gave all {judge['count']} rated questions the same self-evaluation "
            f"score ({_text(judge['mean'])}): it added nothing to the choice"
        )
    return (
        f"the judge's self-evaluation scores barely vary (stdev {_text(judge['stdev'])} < "
        f"quality.min_judge_stdev {_text(judge['min_stdev'])} over {judge['count']} "
        "questions): they carry little signal"
    )


def _warning_lines(stats: Mapping[str, Any]) -> list[str]:
    warning = judge_warning(stats["judge"])
    return [] if warning is None else [f"> **Warning:** {warning}.", ""]


def _judge_lines(judge: Mapping[str, Any]) -> list[str]:
    lines = [
        "Self-evaluation score (0..1) of every scored question, chosen or not:",
        "",
        *_table(
            ["rated", "unrated", "mean", "stdev", "min", "max", "distinct", "discriminates"],
            [
                [
                    judge["count"],
                    judge["missing"],
                    judge["mean"],
                    judge["stdev"],
                    judge["min"],
                    judge["max"],
                    judge["distinct"],
                    "yes" if judge["discriminates"] else "no",
                ]
            ],
        ),
    ]
    warning = judge_warning(judge)
    if warning is not None:
        lines += ["", f"**Warning:** {warning}."]
    return lines


def _generator_lines(generators: Mapping[str, Mapping[str, int]]) -> list[str]:
    chosen, rejected = generators["chosen"], generators["rejected"]
    names = sorted(set(chosen) | set(rejected))
    return _table(
        ["generator", "chosen", "rejected"],
        [[g, chosen.get(g, 0), rejected.get(g, 0)] for g in names],
    )


def _cost_cell(cost: float | None) -> str:
    return "unpriced" if cost is None else f"{cost:.4f}"


def _usage_lines(usage: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            r["stage"],
            r["model"],
            r["calls"],
            r["prompt_tokens"],
            r["completion_tokens"],
            "unpriced" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}",
        ]
        for r in usage["per_stage_model"]
    ]
    total = usage["total"]
    rows.append(
        [
            "**total**",
            "",
            total["calls"],
            total["prompt_tokens"],
            total["completion_tokens"],
            f"{total['cost_usd']:.4f}",
        ]
    )
    lines = _table(
        ["stage", "model", "calls", "prompt tokens", "completion tokens", "cost (USD)"], rows
    )
    if usage["unpriced_models"]:
        lines += [
            "",
            "No price configured for: "
            + ", ".join(usage["unpriced_models"])
            + " (not included in the total cost).",
        ]
    per_descriptor = usage.get("per_descriptor_stage") or []
    if per_descriptor:
        lines += ["", "Per descriptor:", ""]
        lines += _table(
            [
                "descriptor",
                "stage",
                "model",
                "calls",
                "prompt tokens",
                "completion tokens",
                "cost (USD)",
            ],
            [
                [
                    r["descriptor_ui"],
                    r["stage"],
                    r["model"],
                    r["calls"],
                    r["prompt_tokens"],
                    r["completion_tokens"],
                    _cost_cell(r["cost_usd"]),
                ]
                for r in per_descriptor
            ],
        )
    return lines


def render_hf_readme(card: str, configs: Mapping[str, str], default_config: str) -> str:
    """``README.md`` for the Hugging Face ``datasets`` folder layout: YAML front matter
    naming one config per data file (so ``load_dataset(folder, name)`` works), then the card."""
    front = [
        "---",
        "language:",
        "- en",
        "license: other",
        "task_categories:",
        "- question-answering",
        "- text-generation",
        "configs:",
    ]
    for name in sorted(configs):
        front += [f"- config_name: {name}"]
        if name == default_config:
            front += ["  default: true"]
        front += ["  data_files:", "  - split: train", f"    path: {configs[name]}"]
    front += ["---", ""]
    return "\n".join(front) + card
