"""Choose the descriptors a run works on: by UI, by name, and by subtrees with a depth limit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meshdistill.errors import ConfigError, UnknownDescriptorError
from meshdistill.mesh.tree import MeshTree

SUBTREE_KEYS = frozenset({"tree_number", "max_depth"})


def select_descriptors(
    tree: MeshTree,
    uis: Iterable[str] = (),
    names: Iterable[str] = (),
    subtrees: Iterable[Mapping[str, Any]] = (),
) -> list[str]:
    """UIs selected by any of the three routes, each once, in a reproducible order.

    Order: the given UIs, then the names (preferred names, entry terms or headings with
    qualifiers; compared without regard to case, spacing or Unicode spelling), then each
    subtree's descriptors sorted by tree number. A value the tree does not know raises
    UnknownDescriptorError naming it (for a name, with the closest known names); a malformed
    subtree entry raises ConfigError.
    """
    selected: dict[str, None] = {}
    for ui in uis:
        selected.setdefault(tree.resolve_ui(ui), None)
    for name in names:
        try:
            ui = tree.ui_for_heading(name)
        except UnknownDescriptorError as error:
            raise UnknownDescriptorError(
                error.kind, error.value, error.source, tree.closest_names(name)
            ) from None
        selected.setdefault(ui, None)
    for position, entry in enumerate(subtrees):
        tree_number, max_depth = _subtree_entry(entry, position)
        for ui in tree.subtree(tree_number, max_depth):
            selected.setdefault(ui, None)
    return list(selected)


def _subtree_entry(entry: Mapping[str, Any], position: int) -> tuple[str, int | None]:
    setting = f"subtrees[{position}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(setting, "expected a mapping with 'tree_number' and 'max_depth'")
    unexpected = sorted(set(entry) - SUBTREE_KEYS)
    if unexpected:
        raise ConfigError(setting, f"unexpected keys {unexpected}")
    tree_number = entry.get("tree_number")
    if not isinstance(tree_number, str) or not tree_number.strip():
        raise ConfigError(f"{setting}.tree_number", "must be a non-empty string")
    max_depth = entry.get("max_depth")
    if max_depth is not None and (
        isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0
    ):
        raise ConfigError(
            f"{setting}.max_depth", f"must be a whole number >= 0 or null, got {max_depth!r}"
        )
    return tree_number, max_depth
