"""probe's reply knowledge base: data in TOML, a small loader and classifier."""

from .model import CATEGORIES, SEVERITIES, Annotation

__all__ = ["CATEGORIES", "SEVERITIES", "Annotation"]
