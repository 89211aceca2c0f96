"""The config schema takes a category letter as a subtree root (the way to select all of MeSH)
and still rejects malformed tree numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("tree_number", "valid"), [("C", True), ("C04.588", True), ("C0", False)])
def test_the_schema_takes_a_category_letter_as_a_subtree(tree_number: str, valid: bool) -> None:
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["descriptors"]["subtrees"] = [{"tree_number": tree_number}]
    schema = str(REPO / "schemas" / "config.schema.yaml")
    if valid:
        validate(config, schema=schema)
    else:
        with pytest.raises(WorkflowError, match="tree_number"):
            validate(config, schema=schema)
