"""Field labels for the explanation panel, in the user's language.

The knowledge engine owns the translations (`knowledge.labels`). The TUI
asks for them here, and keeps an English default for every key it shows: a
label missing from the language files must never leave an empty heading.
"""

from __future__ import annotations

from knowledge import labels

ENGLISH: dict[str, str] = {
    "description": "Meaning",
    "when": "When you see it",
    "fix": "How to fix",
    "fix_admin": "If you run this server",
    "learn_more": "Learn more",
    "category": "Category",
    "severity": "Severity",
    "source": "Source",
}


def load_labels(lang: str) -> dict[str, str]:
    """Labels for `lang`, with every key the TUI uses present."""
    merged = dict(ENGLISH)
    merged.update({k: v for k, v in labels(lang).items() if isinstance(v, str) and v})
    return merged
