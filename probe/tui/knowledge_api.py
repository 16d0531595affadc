"""The knowledge engine's lookup API, as the TUI's browser uses it.

One import site: the browser and the command palette call these, so when
the engine's exports move, only this file changes.
"""

from __future__ import annotations

from knowledge import explain_text, known_codes
from knowledge.model import Explained


def explain(text: str, lang: str) -> list[Explained]:
    """Explain pasted text (a code, an enhanced code or a reply line), as `probe explain`."""
    return list(explain_text(text, lang))


def codes() -> list[str]:
    """Every code the knowledge base can explain, for browsing."""
    return list(known_codes())
