"""How the plain report draws: colour, language, width and character set.

Shared by every part of the plain report (transcripts, timing, verdict), so
they agree on the width, on when colour is allowed (a terminal without
NO_COLOR, and only around text we wrote) and on whether the terminal can
show block characters (not under TERM=dumb).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from knowledge import labels

from ..core.events import HostKey
from ..sanitize import to_display
from .words import say
from .wrap import wrap

WIDTH = 80
INDENT = "   "

_COLORS = {"2": "32", "3": "36", "4": "33", "5": "31", "dim": "2", "bold": "1",
           "ok": "32", "transient": "33", "permanent": "31", "error": "31", "warning": "33",
           "info": "36", "pass": "32", "warn": "33", "fail": "31", "none": "2"}


@dataclass(frozen=True)
class Style:
    """ANSI colour around our own text only (off for pipes and with NO_COLOR), the
    language of the words, the width in terminal cells, and ASCII-only bars."""

    color: bool = False
    lang: str = "en"
    width: int = WIDTH
    ascii_only: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.lang)

    def say(self, key: str, /, **params: object) -> str:
        return say(self.lang, key, **params)

    def paint(self, text: str, kind: str) -> str:
        code = _COLORS.get(kind)
        if not self.color or not code:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def wrap(self, text: str, first: str, rest: str | None = None) -> list[str]:
        return wrap(text, self.width, first, rest)

    @classmethod
    def for_stream(cls, stream: object, lang: str = "en") -> Style:
        """Colour and the terminal's width for a terminal; 80 columns, no colour otherwise;
        ASCII bars when TERM=dumb."""
        isatty = bool(getattr(stream, "isatty", lambda: False)())
        width = WIDTH
        if isatty:
            width = max(40, shutil.get_terminal_size((WIDTH, 24)).columns)
        return cls(isatty and "NO_COLOR" not in os.environ, lang, width,
                   os.environ.get("TERM") == "dumb")


def host_title(key: HostKey, lang: str) -> str:
    """`mx1.example.com [192.0.2.10]:25, preference 10`, display-safe."""
    address = f"[{to_display(key.address)}]" if key.address else say(lang, "no_address_paren")
    pref = say(lang, "preference", preference=key.preference) if key.preference is not None \
        else ""
    name = "" if key.host == key.address else f"{to_display(key.host)} "
    return f"{name}{address}:{key.port}{pref}"
