"""Tag-value lists ("v=DMARC1; p=reject", "v=TLSRPTv1; rua=..."), split in one pass.

DMARC (RFC 7489 §6.4) and TLS-RPT (RFC 8460 §3) both write records as
`name=value` pairs separated by ";" with optional blanks around the
separators. This only splits; each record type judges its own tags.
"""

from __future__ import annotations

from dataclasses import dataclass

BLANKS = " \t"


@dataclass(frozen=True)
class Tag:
    name: str  # as written, blanks around it removed
    value: str  # as written, blanks around it removed
    text: str  # the whole piece, for messages


def split(text: str) -> tuple[list[Tag], list[str]]:
    """(the tags in order, the pieces that are not `name=value`); empty pieces are skipped."""
    tags: list[Tag] = []
    malformed: list[str] = []
    for piece in text.split(";"):
        stripped = piece.strip(BLANKS)
        if not stripped:
            continue
        name, equals, value = stripped.partition("=")
        if not equals or not name.strip(BLANKS):
            malformed.append(stripped)
            continue
        tags.append(Tag(name.strip(BLANKS), value.strip(BLANKS), stripped))
    return tags, malformed
