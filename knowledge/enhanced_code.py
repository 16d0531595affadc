"""Parsing RFC 3463 enhanced status codes out of reply text.

RFC 2034 puts the code at the start of every line of the reply text; the parts
are `class.subject.detail` with class 2, 4 or 5 and up to three digits each.
Other dotted numbers must not be mistaken for one: an IPv4 address or a longer
version (`1.2.3.4`, `5.1.1.4`: more digits follow), a version glued to a word or
named as one (`v4.6.1`, `MTA-5.5.0-3`, `version 4.2.1`), a date (`5.10.2011`).
Every regex is linear in the text (tests/test_linear_time.py).
"""

from __future__ import annotations

import re

# Optional basic code in front ("550 5.1.1", "550-5.1.1") so callers may pass a
# whole reply line too. After the code: not a digit, not ".digit", and then
# the end or punctuation that can follow a code in prose.
_ENHANCED = re.compile(
    r"\s*(?:[2-5]\d\d[ -]\s*)?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)(?=$|[\s:;,.)\]>\"'])"
)
# The same code anywhere in a line, for DSN fields ("Status: 5.1.1", "dsn=5.1.1")
# and qmail's "(#5.1.1)"; not glued to a word or a dot on the left.
ENHANCED_ANYWHERE = re.compile(r"(?<![\w./])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)(?!\w)")
_VERSION_WORDS = frozenset(
    ("version", "ver", "v", "release", "rel", "build", "rev", "revision", "hotfix"))


def is_version_context(text: str, start: int) -> bool:
    """True when the dotted number at `start` is a version, not a status code.

    Either a word names it ("version 4.2.1", "v 4.6.1"), a dash glues it to a
    word ("mxl_mta-5.5.0-3") or it is a requirement ("aiosmtplib>=5.1.3");
    "550-5.1.1" (a code, a dash, a code) and "dsn=5.1.1" stay codes.
    """
    before = text[max(0, start - 16) : start]
    if before.endswith("-") and len(before) >= 2 and not before[-2].isdigit():
        return True
    if before.endswith(("==", ">=", "<=", "~=", "!=")):  # a version requirement
        return True
    words = before.lower().replace(".", " ").replace(":", " ").split()
    return bool(words) and words[-1] in _VERSION_WORDS


def find_enhanced(text: str) -> str | None:
    """The first enhanced code anywhere in `text` that is not a version number."""
    for match in ENHANCED_ANYWHERE.finditer(text):
        if not is_version_context(text, match.start()):
            return normalise(match.groups())  # type: ignore[arg-type]
    return None


def normalise(parts: tuple[str, str, str]) -> str:
    """"5.01.001" -> "5.1.1": leading zeros carry no meaning (RFC 3463 §2)."""
    return ".".join(str(int(part)) for part in parts)


def parse_enhanced(text: str) -> str | None:
    """The enhanced status code at the start of `text`, e.g. "5.1.1", or None."""
    match = _ENHANCED.match(text)
    if match is None or is_version_context(text, match.start(1)):
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


def without_repeats(text: str) -> str:
    """The reply's words with its enhanced code once, at the start.

    RFC 2034 repeats the code on every line of a multiline reply, and Gmail
    does ("5.7.1 The IP you're using to send mail is not authorized to\\n5.7.1
    send email directly..."); left in, the copies split the words a pattern
    reads across the line break. A line led by another code keeps it.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    first = lines[0].lstrip()
    code = first.split(None, 1)[0] if first else ""
    if parse_enhanced(code) is None:
        return text
    for index in range(1, len(lines)):
        line = lines[index].lstrip()
        if line.startswith(code) and line[len(code) : len(code) + 1] in ("", " ", "\t"):
            lines[index] = line[len(code):].lstrip()
    return "\n".join(lines)
