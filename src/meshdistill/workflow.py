"""Functions the Snakefile calls while the workflow is parsed (no model, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdistill.errors import ConfigError, InputError
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


def check_hierarchy(tree: MeshTree) -> None:
    """Raise InputError naming the MeSH file when its hierarchy loops (scoring needs a proper
    one), so the run stops when the workflow is parsed rather than in the scored stage."""
    cycle = tree.find_cycle()
    if cycle is not None:
        category, uis = cycle
        raise InputError(
            tree.source,
            f"the descriptor hierarchy has a cycle in category {category}: "
            f"{' -> '.join(uis)} (each is listed below the next through its tree numbers); "
            "fix the tree numbers in this file or use an unmodified MeSH release",
        )


def resolve_targets(config: Mapping[str, Any], tree: MeshTree | None = None) -> list[Target]:
    """Selected descriptors in a stable order; unknown UIs, names or tree numbers raise
    UnknownDescriptorError naming the value, an empty selection ConfigError, and a MeSH
    hierarchy with a cycle InputError."""
    tree = tree or load_mesh(config)
    check_hierarchy(tree)
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
    if not uis:
        raise ConfigError(
            "descriptors",
            "selects no descriptor: give at least one entry in descriptors.uis, "
            "descriptors.names or descriptors.subtrees",
        )
    return [Target(ui, tree.name(ui), tuple(tree.tree_numbers(ui))) for ui in uis]
