"""The only door from untrusted text to a terminal.

Server replies and DNS answers may carry escape sequences (CSI, OSC title,
OSC 8 links, OSC 52 clipboard), C0/C1 controls, bidi overrides and invalid
UTF-8. Rich and Textual strip only a handful of controls and pass ESC through,
so every string that came from the network goes through `to_display` before
any view prints it, and views insert the result as plain text, never markup.
"""

from __future__ import annotations

# Characters that str.isprintable() accepts but that still rearrange or hide
# text on a terminal; escape them too.
_ALSO_ESCAPED = frozenset("\u00ad")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def to_display(value: bytes | str, limit: int | None = None) -> str:
    """Return `value` with every non-printable character shown as an escape.

    Bytes are decoded as UTF-8; undecodable bytes become `\\xNN`. A str that
    carries surrogate escapes (as aiosmtplib returns) is handled the same way.
    With `limit`, the result is cut to that many characters and says so.
    """
    if isinstance(value, bytes):
        text = value.decode("utf-8", "backslashreplace")
    else:
        text = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            if any("\udc80" <= ch <= "\udcff" for ch in value) else value
    out = "".join(
        ch if (ch == " " or ch.isprintable()) and ch not in _ALSO_ESCAPED else _escape_char(ch)
        for ch in text
    )
    if limit is not None and len(out) > limit:
        return out[:limit] + f"… [truncated {len(out) - limit} characters]"
    return out
