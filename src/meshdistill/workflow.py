"""Functions the Snakefile calls while the workflow is parsed (no model, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill.mesh import MeshTree, select_descriptors


@dataclass(frozen=True)
class Target:
    """A selected MeSH descriptor: one branch of the DAG."""

    ui: str
    name: str
    tree_numbers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ui": self.ui, "name": self.name, "tree_numbers": list(self.tree_numbers)}


def load_mesh(config: Mapping[str, Any]) -> MeshTree:
    mesh = config["mesh"]
    return MeshTree.load(Path(mesh["source"]), cache_dir=Path(mesh["cache_dir"]))


def resolve_targets(config: Mapping[str, Any], tree: MeshTree | None = None) -> list[Target]:
    """Selected descriptors in a stable order; unknown UIs, names or tree numbers raise
    UnknownDescriptorError naming the value."""
    tree = tree or load_mesh(config)
    selection = config.get("descriptors") or {}
    uis = select_descriptors(
        tree,
        uis=selection.get("uis") or (),
        names=selection.get("names") or (),
        subtrees=selection.get("subtrees") or (),
    )
    overrides = selection.get("overrides") or {}
    for ui in overrides:
        tree.resolve_ui(ui)
    return [Target(ui, tree.name(ui), tuple(tree.tree_numbers(ui))) for ui in uis]
