"""probe's reply knowledge base: data in TOML, a small loader and classifier.

Importing this package reads no data file and compiles no pattern: the probe
core imports it at start-up, so the TOML files are parsed on first use and
cached (see `loader`). It never imports `probe`, `textual` or `rich`.
"""

from __future__ import annotations

from . import loader
from .classifier import explain_error, explain_reply, explain_success
from .compare import compare
from .enhanced_code import parse_enhanced
from .extract import explain_text
from .i18n import labels, resolve_lang
from .model import CATEGORIES, SEVERITIES, Annotation, CodeFacts, Comparison, Explained


def known_codes() -> list[str]:
    """Every code the data describes: basic codes, then enhanced ones ("X.1.1")."""
    basic = sorted(k[1:] for k in loader.codes() if k.startswith("c") and k[1:].isdigit())
    enhanced = sorted(
        loader.enhanced()["code"],
        key=lambda k: tuple(int(p) for p in k.split(".")[1:]),
    )
    return basic + enhanced


__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "Annotation",
    "CodeFacts",
    "Comparison",
    "Explained",
    "compare",
    "explain_error",
    "explain_reply",
    "explain_success",
    "explain_text",
    "known_codes",
    "labels",
    "parse_enhanced",
    "resolve_lang",
]
