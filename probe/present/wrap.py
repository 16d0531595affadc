"""Wrapping text to a terminal's width, measured in cells, not characters.

`textwrap` counts characters and breaks only at spaces: Chinese text (two
cells per character, no spaces) comes out twice as wide as asked, and a URL
is cut wherever the width falls. Here a wide character counts two cells, a
line may break between two wide characters (but not before closing
punctuation such as a full-width comma or full stop), and a URL is never split: if it does not
fit it goes on a line of its own, even past the width, so it stays clickable
and copyable.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,20}://\S+")
_WORD = re.compile(r"\S+")
# Closing punctuation that must not start a line (kinsoku shori, simplified).
_NO_LINE_START = frozenset("，。、：；！？）」』】〕》〉’”…・ー,.;:!?)]}")  # noqa: RUF001
_NO_LINE_END = frozenset("（「『【〔《〈‘“([{")  # noqa: RUF001


@lru_cache(maxsize=4096)
def char_cells(ch: str) -> int:
    """Cells one character takes: 2 for East Asian wide/full-width, 0 for combining marks."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """Terminal cells `text` takes (ASCII fast path)."""
    if text.isascii():
        return len(text)
    return sum(char_cells(ch) for ch in text)


def _pieces(word: str) -> list[str]:
    """Split a word where a line may break: between wide characters, never in a URL,
    never before closing punctuation nor after opening punctuation."""
    if word.isascii() or _URL.fullmatch(word):
        return [word]
    pieces: list[str] = []
    for ch in word:
        if pieces and (ch in _NO_LINE_START or pieces[-1][-1] in _NO_LINE_END):
            pieces[-1] += ch
        elif not pieces or char_cells(ch) == 2 or char_cells(pieces[-1][-1]) == 2:
            pieces.append(ch)
        else:
            pieces[-1] += ch
    return pieces


def _split_long(word: str, room: int, later: int) -> list[str]:
    """Cut a word wider than a line into chunks: `room` cells for the first, `later`
    for each next one (URLs are never given here)."""
    chunks: list[str] = []
    current, used, limit = "", 0, max(room, 1)
    for ch in word:
        w = char_cells(ch)
        if used + w > limit and current:
            chunks.append(current)
            current, used, limit = "", 0, max(later, 1)
        current += ch
        used += w
    chunks.append(current)
    return chunks


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """Lines of at most `width` cells: `first` before the first, `rest` before the others.

    Runs of spaces are kept (a server's text is shown as sent), leading ones
    included, except where a line breaks. A word wider than a line is cut (a URL is
    not). Returns `[first.rstrip()]` for empty text.
    """
    rest = " " * cells(first) if rest is None else rest
    lines: list[str] = []
    line, used, empty = first, cells(first), True
    end = 0
    for match in _WORD.finditer(text):
        gap = " " * (match.start() - end)
        end = match.end()
        for index, piece in enumerate(_pieces(match.group())):
            sep = "" if (empty and match.start() > 0 and lines) or index > 0 else gap
            w = cells(piece)
            if used + len(sep) + w <= width:
                line += sep + piece
                used += len(sep) + w
                empty = False
                continue
            if not empty:
                lines.append(line)
                line, used, empty = rest, cells(rest), True
            if used + w <= width or _URL.fullmatch(piece):
                line += piece
                used += w
                empty = False
                continue
            chunks = _split_long(piece, width - used, width - cells(rest))
            for chunk in chunks[:-1]:
                lines.append(line + chunk)
                line, used = rest, cells(rest)
            line += chunks[-1]
            used += cells(chunks[-1])
            empty = False
    lines.append(line if not empty else line.rstrip())
    return lines


def fill(text: str, width: int, first: str = "", rest: str | None = None) -> str:
    return "\n".join(wrap(text, width, first, rest))


def clip(text: str, width: int) -> str:
    """`text` in at most `width` cells: cut with "…" when longer (for table cells)."""
    if cells(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = char_cells(ch)
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "…"


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` cells (wide characters count two)."""
    return text + " " * max(0, width - cells(text))
