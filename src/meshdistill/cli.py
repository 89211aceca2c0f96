"""Command line: `meshdistill estimate` prints the LLM work a run would pay for now."""

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
    args = parser.parse_args(argv)

    from meshdistill.estimate import estimate, format_table, to_json

    try:
        rows = estimate(load_config(args.configfile))
    except MeshDistillError as error:
        print(f"meshdistill: {error}", file=sys.stderr)
        return 1
    print(to_json(rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
