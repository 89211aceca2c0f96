"""The MeSH knowledge hierarchy: loading, selection, information content and similarity."""

from meshdistill.mesh.descriptor import DescriptorRecord
from meshdistill.mesh.information_content import IC_KINDS, InformationContent
from meshdistill.mesh.selection import select_descriptors
from meshdistill.mesh.similarity import MEASURES, SET_METHODS, SimilarityScorer, build_scorer
from meshdistill.mesh.tree import MeshTree

__all__ = [
    "IC_KINDS",
    "MEASURES",
    "SET_METHODS",
    "DescriptorRecord",
    "InformationContent",
    "MeshTree",
    "SimilarityScorer",
    "build_scorer",
    "select_descriptors",
]
