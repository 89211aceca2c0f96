"""MeSH knowledge-hierarchy guided distillation of biomedical training data (KAILIN)."""

__version__ = "0.1.0"
