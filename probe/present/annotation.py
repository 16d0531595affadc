"""An annotation as every view shows it: one ordered list of sections, one dict.

The plain report, `probe explain`, `probe compare`, the TUI and the JSON
writers all take their labelled sections and their serialisation from
here, so an annotation reads and serialises the same wherever it appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge import Annotation, labels


@dataclass(frozen=True)
class Section:
    """One labelled block of an annotation; `key` names the field it came from."""

    key: str
    label: str
    text: str


def sections(annotation: Annotation, lang: str) -> list[Section]:
    """The labelled blocks, in reading order, empty ones left out.

    The fixes come first: they are what an admin reading a problem acts on,
    and in a small terminal pane they must be visible without scrolling; the
    description and when it happens follow. When the receiving admin has a
    fix of their own, the first fix is labelled as the sender's, so neither
    reads as the only fix.
    """
    label = labels(lang)
    admin = annotation.fix_admin if annotation.fix_admin != annotation.fix else ""
    fix_label = label["fix_sender"] if admin else label["fix"]
    blocks = [
        Section("fix", fix_label, annotation.fix),
        Section("fix_admin", f"{label['fix']} ({label['fix_admin']})", admin),
        Section("meaning", label["description"], annotation.meaning),
        Section("when", label["when"], annotation.when),
        Section("source", label["source"], annotation.source),
        Section("doc_url", label["learn_more"], annotation.doc_url),
    ]
    return [block for block in blocks if block.text]


def badge(annotation: Annotation) -> str:
    """`[user_unknown · permanent]`, or `[ok]` when category and severity agree."""
    if annotation.category == annotation.severity:
        return f"[{annotation.category}]"
    return f"[{annotation.category} · {annotation.severity}]"


def untranslated_note(annotation: Annotation, lang: str) -> str | None:
    """Said once under an annotation shown in English because `lang` has no text for it."""
    if annotation.lang == lang:
        return None
    return f"({lang}: {labels(lang)['untranslated']})"


ANNOTATION_KEYS = ("category", "severity", "title", "meaning", "when", "fix", "source",
                   "fix_admin", "doc_url", "matched", "enhanced_title", "lang",
                   "enhanced_registered")


def annotation_dict(annotation: Annotation) -> dict[str, Any]:
    """The JSON form of an annotation, the same in `--json`, `explain --json`, batch
    and a saved report: every key present, "" when a text is absent."""
    return {key: getattr(annotation, key) for key in ANNOTATION_KEYS}
