"""The descriptor record and the arithmetic of MeSH tree numbers.

A tree number such as ``C04.557.337`` places a descriptor in the hierarchy: its first letter is
the top-level category (``C``, Diseases), each dot-separated component is one level, and every
proper prefix that ends at a component boundary (``C04``, ``C04.557``) names an ancestor.
Depth counts components, so the top-level headings (``C04``) have depth 1 and the category letter
itself, which is no descriptor, acts as a virtual root at depth 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meshdistill.errors import ConfigError

TREE_NUMBER_SEPARATOR = "."
# How the per-category measures split MeSH into taxonomies: by the tree number's first letter
# (``C``, the textbook reading of "category") or by its first segment (``C04``, as KAILIN's
# released scorer does).
CATEGORY_CONVENTIONS = ("letter", "segment")


@dataclass(frozen=True)
class DescriptorRecord:
    """One MeSH descriptor: its unique id (UI), preferred name, places in the tree, synonyms."""

    ui: str
    name: str
    tree_numbers: tuple[str, ...]
    entry_terms: tuple[str, ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(category_of(tn) for tn in self.tree_numbers)

    @property
    def depth(self) -> int:
        """Smallest depth over the tree numbers; 0 for a descriptor placed nowhere in the tree."""
        return min((tree_depth(tn) for tn in self.tree_numbers), default=0)


def category_of(tree_number: str) -> str:
    """The top-level category letter of a tree number (``"C04.557"`` -> ``"C"``)."""
    return tree_number[:1]


def top_level_heading(tree_number: str) -> str:
    """The first segment of a tree number (``"C04.557"`` -> ``"C04"``)."""
    return tree_number.split(TREE_NUMBER_SEPARATOR, 1)[0]


def category_function(convention: str) -> Callable[[str], str]:
    """The tree number -> category mapping of a convention in ``CATEGORY_CONVENTIONS``."""
    if convention == "letter":
        return category_of
    if convention == "segment":
        return top_level_heading
    raise ConfigError(
        "scoring.category", f"'{convention}' is not one of {', '.join(CATEGORY_CONVENTIONS)}"
    )


def tree_depth(tree_number: str) -> int:
    """Number of components: ``"C04"`` -> 1, ``"C04.557"`` -> 2."""
    return tree_number.count(TREE_NUMBER_SEPARATOR) + 1


def parent_tree_number(tree_number: str) -> str | None:
    """The tree number one level up, or None for a top-level heading (whose parent is virtual)."""
    head, separator, _ = tree_number.rpartition(TREE_NUMBER_SEPARATOR)
    return head if separator else None


def ancestor_tree_numbers(tree_number: str) -> list[str]:
    """Proper prefixes of a tree number, from the top-level heading down to its parent."""
    components = tree_number.split(TREE_NUMBER_SEPARATOR)
    return [TREE_NUMBER_SEPARATOR.join(components[:end]) for end in range(1, len(components))]


def common_prefix_depth(a: str, b: str) -> int:
    """Depth of the deepest tree number that both ``a`` and ``b`` lie at or below (0: none)."""
    depth = 0
    for left, right in zip(
        a.split(TREE_NUMBER_SEPARATOR), b.split(TREE_NUMBER_SEPARATOR), strict=False
    ):
        if left != right:
            break
        depth += 1
    return depth


def is_well_formed_tree_number(tree_number: str) -> bool:
    """A letter followed by at least one more character, with no empty components.

    Real MeSH tree numbers match ``[A-Z]\\d{2}(\\.\\d{3})*``; the check is looser on purpose so
    that small hand-made trees (tests, examples) need not imitate the digit widths.
    """
    if len(tree_number) < 2 or not tree_number[0].isalpha() or not tree_number[0].isupper():
        return False
    return all(tree_number.split(TREE_NUMBER_SEPARATOR))
