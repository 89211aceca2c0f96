"""Command line: `meshdistill estimate` prints the LLM work a run would pay for now;
`meshdistill check-models` asks every configured model one small request per role and says
what to change when one fails; `meshdistill similarity` scores MeSH heading sets without running
the workflow."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from meshdistill.errors import MeshDistillError
from meshdistill.settings import check_references, deep_merge, with_method

DEFAULT_CONFIG = Path("config.yaml")


def load_config(configfiles: Sequence[Path]) -> dict:
    """The workflow's config as Snakemake builds it: defaults, then each --configfile on top."""
    from snakemake.utils import validate

    from meshdistill.schemas import schemas_dir

    config: dict = {}
    for path in [DEFAULT_CONFIG, *configfiles]:
        if not path.is_file():
            raise MeshDistillError(f"config file '{path}' does not exist")
        config = deep_merge(config, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    validate(config, str(schemas_dir() / "config.schema.yaml"), set_default=False)
    config, _ = with_method(config)
    check_references(config)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshdistill", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    estimate_parser = commands.add_parser(
        "estimate", help="LLM calls, tokens and cost that running the workflow now would need"
    )
    estimate_parser.add_argument(
        "--configfile",
        type=Path,
        action="append",
        default=[],
        help="config overlay(s), as given to snakemake",
    )
    estimate_parser.add_argument("--json", action="store_true", help="machine-readable output")
    check_parser = commands.add_parser(
        "check-models",
        help="send each configured model one small request per role; report what to fix",
    )
    check_parser.add_argument(
        "--configfile", type=Path, action="append", default=[], help="config overlay(s)"
    )
    check_parser.add_argument(
        "--all-modes",
        action="store_true",
        help="try every structured_output mode on models whose roles ask for JSON",
    )
    check_parser.add_argument("--json", action="store_true", help="machine-readable output")
    _add_similarity_parser(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "similarity":
            return _similarity(args)
        if args.command == "check-models":
            return _check_models(args)
        from meshdistill.estimate import estimate, format_table, to_json

        rows = estimate(load_config(args.configfile))
    except MeshDistillError as error:
        print(f"meshdistill: {error}", file=sys.stderr)
        return 1
    print(to_json(rows) if args.json else format_table(rows))
    return 0


def _check_models(args: argparse.Namespace) -> int:
    from meshdistill.model_check import check_models, format_reports, to_json

    reports = check_models(load_config(args.configfile), all_modes=args.all_modes)
    print(to_json(reports) if args.json else format_reports(reports))
    return 0 if all(report.ok for report in reports) else 1


def _add_similarity_parser(commands: argparse._SubParsersAction) -> None:
    from meshdistill.mesh import ALL_MEASURES, CATEGORY_CONVENTIONS, IC_KINDS, SET_METHODS

    command = commands.add_parser(
        "similarity",
        help="score (source, retrieved) MeSH heading sets from a JSONL file",
        description=(
            'Each input line {"source": [UI...], "retrieved": [[UI...], ...]} gives one output '
            'line {"score": float, "document_scores": [float...]}, in order.'
        ),
    )
    command.add_argument("--mesh", required=True, help="MeSH descriptor XML, mtrees or tree TSV")
    command.add_argument(
        "--corpus",
        nargs="+",
        default=[],
        help="corpus files (PubMed XML, MEDLINE, JSONL, Parquet); only their MeSH annotations "
        "are used, by --measure kailin and --information-content corpus",
    )
    command.add_argument("--corpus-format", default="auto")
    command.add_argument("--measure", choices=ALL_MEASURES, default="lin")
    command.add_argument("--information-content", choices=IC_KINDS, default="intrinsic")
    command.add_argument("--set-method", choices=SET_METHODS, default="mean")
    command.add_argument(
        "--category",
        choices=CATEGORY_CONVENTIONS,
        default="letter",
        help="textbook measures only (kailin always uses segments)",
    )
    command.add_argument(
        "--exclude-headings",
        nargs="*",
        default=[],
        help="check_tags and/or descriptor UIs left out of both sets",
    )
    command.add_argument("--check-tags-file", default="data/mesh/check_tags.tsv")
    command.add_argument("--input", required=True, help="JSONL of source/retrieved heading sets")
    command.add_argument("--output", required=True, help="JSONL of scores, one per input line")


def _similarity(args: argparse.Namespace) -> int:
    from meshdistill.similarity_command import make_scorer, score_file

    scorer = make_scorer(
        mesh=args.mesh,
        corpus=args.corpus,
        corpus_format=args.corpus_format,
        measure=args.measure,
        information_content=args.information_content,
        category=args.category,
        exclude=args.exclude_headings,
        check_tags_file=args.check_tags_file,
    )
    count = score_file(scorer, args.input, args.output, args.set_method)
    print(f"meshdistill: scored {count} line(s) into {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
