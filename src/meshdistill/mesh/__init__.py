"""The MeSH knowledge hierarchy: loading, selection, information content and similarity."""

from meshdistill.mesh.descriptor import CATEGORY_CONVENTIONS, DescriptorRecord
from meshdistill.mesh.information_content import IC_KINDS, InformationContent
from meshdistill.mesh.kailin import KAILIN_MEASURE, KailinInformationContent, KailinScorer
from meshdistill.mesh.selection import select_descriptors
from meshdistill.mesh.set_scorer import SET_METHODS, HeadingSetScorer
from meshdistill.mesh.similarity import ALL_MEASURES, MEASURES, SimilarityScorer, build_scorer
from meshdistill.mesh.tree import MeshTree

__all__ = [
    "ALL_MEASURES",
    "CATEGORY_CONVENTIONS",
    "IC_KINDS",
    "KAILIN_MEASURE",
    "MEASURES",
    "SET_METHODS",
    "DescriptorRecord",
    "HeadingSetScorer",
    "InformationContent",
    "KailinInformationContent",
    "KailinScorer",
    "MeshTree",
    "SimilarityScorer",
    "build_scorer",
    "select_descriptors",
]
