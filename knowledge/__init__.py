"""probe's reply knowledge base: data in TOML, a small loader and classifier.

Importing this package reads no data file, compiles no pattern and loads no
submodule it does not need: the probe core imports it at start-up, so the
TOML files are parsed on first use and cached (see `loader`). It never
imports `probe`, `textual` or `rich`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import loader
from .model import CATEGORIES, SEVERITIES, Annotation, CodeFacts, Comparison, Explained

if TYPE_CHECKING:
    from .classifier import explain_error, explain_reply, explain_success
    from .compare import compare
    from .enhanced_code import parse_enhanced
    from .extract import explain_text
    from .i18n import labels, resolve_lang

# Functions load their module on first use (PEP 562), so `probe explain 451`
# does not pay for the extractor, the comparer or the pattern engine.
_LAZY = {
    "explain_error": "classifier", "explain_reply": "classifier",
    "explain_success": "classifier", "compare": "compare", "parse_enhanced": "enhanced_code",
    "explain_text": "extract", "labels": "i18n", "resolve_lang": "i18n",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'knowledge' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
