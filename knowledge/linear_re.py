"""Matching the pattern files in time linear in the text, whatever the regex.

Why a second engine: `patterns/*.toml` are data written by many hands and are
run against text that hostile servers and pasted bounces control. Python's `re`
backtracks, so an innocent-looking regex can be slow on crafted text:
`\\S+\\.me\\.com` is quadratic in a long run of non-spaces (80,000 characters
took 13-47 s), and a regex with nested or repeated quantifiers can be
exponential. RE2 (PyPI `google-re2`) matches without backtracking: time grows
linearly with the text for every regex it accepts.

Fallback policy, in order:

1. Every pattern RE2 accepts runs on RE2, case-insensitively, on UTF-8 bytes.
2. A pattern RE2 rejects (lookaround, backreference) runs on Python's `re`. Its
   text is capped like every pattern's (`MAX_TEXT`), which bounds even a
   quadratic regex, and tests/test_linear_time.py runs every pattern, on
   whichever engine, against adversarial text. Today two patterns use a
   bounded negative lookahead and take this path.
3. Without the `re2` module (a platform with no wheel) every pattern takes the
   path of point 2: the same answers, without the guarantee.

RE2 and Python differ in a few corners that normalised reply text avoids
(no newlines, so `^`/`$` agree); one remains: RE2's `\\b` and `\\w` know ASCII
letters only, so `\\bspam\\b` also matches inside "éspam".
"""

from __future__ import annotations

import re
from typing import Any

try:
    import re2 as _re2  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - platforms without a google-re2 wheel
    _re2 = None

# Pattern text beyond this is not looked at: a reply line is at most 512
# octets (RFC 5321 §4.5.3.1.5), so 4 KiB holds any real multiline reply.
MAX_TEXT = 4096


def _re2_options() -> Any:
    options = _re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a rejected pattern must not write to stderr
    options.never_capture = True  # only "does it match" is asked
    return options


_OPTIONS = _re2_options() if _re2 is not None else None


class LinearPattern:
    """A compiled pattern: `search(text)` is truthy when the regex matches.

    `pattern` is the source and `engine` says which engine runs it ("re2" or
    "re"); both are kept for tests and for the rank rule (regex length).
    """

    __slots__ = ("_re", "_re2", "engine", "pattern")

    def __init__(self, source: str) -> None:
        self.pattern = source
        self._re: re.Pattern[str] | None = None
        self._re2: Any = None
        if _re2 is not None:
            try:
                self._re2 = _re2.compile(source.encode("utf-8"), _OPTIONS)
            except _re2.error:
                self._re2 = None
        if self._re2 is None:
            self._re = re.compile(source, re.IGNORECASE)
        self.engine = "re2" if self._re2 is not None else "re"

    def search(self, text: str) -> object | None:
        """A match object when the regex matches the first MAX_TEXT characters."""
        text = text[:MAX_TEXT]
        if self._re2 is not None:
            return self._re2.search(text.encode("utf-8", "replace"))
        assert self._re is not None
        return self._re.search(text)

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r}, engine={self.engine!r})"


def compile_pattern(source: str) -> LinearPattern:
    """Compile a pattern file's regex; raises `re.error` if Python cannot parse it.

    Python's parser stays the judge of syntax (error messages, and the guard
    literals in `patterns.py` come from its parse tree) even when RE2 runs it.
    """
    re.compile(source, re.IGNORECASE)
    return LinearPattern(source)
