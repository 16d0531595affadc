"""Parsing RFC 3463 enhanced status codes out of reply text.

RFC 2034 puts the code at the start of every line of the reply text; the parts
are `class.subject.detail` with class 2, 4 or 5 and up to three digits each.
A dotted quad (an IPv4 address) or a version string must not be mistaken for one,
hence the look-ahead on what may follow.
"""

from __future__ import annotations

import re

# Optional basic code in front ("550 5.1.1", "550-5.1.1") so callers may pass a
# whole reply line too.
_ENHANCED = re.compile(
    r"^\s*(?:[2-5]\d\d[ -]\s*)?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)(?=$|[\s:;,.)\]>\"'])"
)
# The same code anywhere in a line, for DSN fields ("Status: 5.1.1", "dsn=5.1.1").
ENHANCED_ANYWHERE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)(?![\w])")


def normalise(parts: tuple[str, str, str]) -> str:
    """"5.01.001" -> "5.1.1": leading zeros carry no meaning (RFC 3463 §2)."""
    return ".".join(str(int(part)) for part in parts)


def parse_enhanced(text: str) -> str | None:
    """The enhanced status code at the start of `text`, e.g. "5.1.1", or None."""
    match = _ENHANCED.match(text)
    if match is None:
        return None
    return normalise(match.groups())  # type: ignore[arg-type]


def split_enhanced(code: str) -> tuple[int, int, int] | None:
    """(class, subject, detail) of a normalised code, or None if it is not one."""
    parts = code.split(".")
    if len(parts) != 3 or not all(p.isdigit() and 0 < len(p) <= 3 for p in parts):
        return None
    klass, subject, detail = (int(p) for p in parts)
    if klass not in (2, 4, 5):
        return None
    return klass, subject, detail
