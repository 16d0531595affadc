"""SMTP replies and the strict framer that reads them from raw bytes.

aiosmtplib tells us *when* a reply is complete, but its parser accepts codes
such as `-12`, ` 22` or `2_0`, joins lines, strips whitespace and keeps no
record of protocol deviations. So every reply shown to the admin is re-framed
here from the raw bytes the session captured, validated against RFC 5321
§4.2 (three digits, first 2-5, second 0-5, one code per multiline reply), and
annotated with what it did wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge import parse_enhanced

MAX_REPLY_LINE = 512  # RFC 5321 §4.5.3.1.5, including the code and CRLF
MANY_LINES = 100

_CODE = re.compile(rb"[2-5][0-5][0-9]")


def decode_line(raw: bytes) -> str:
    """Decode reply text for storage: UTF-8, undecodable bytes as `\\xNN`."""
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Reply:
    """One complete reply as the server sent it.

    `lines` hold each line's text without the `250-` prefix or the line end,
    otherwise untouched. `raw` is every byte of the reply. `oddities` lists the
    RFC deviations seen while framing (they become findings, not failures).
    """

    code: int
    lines: tuple[str, ...]
    raw: bytes
    enhanced: str | None = None
    oddities: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def code_class(self) -> int:
        return self.code // 100


class MalformedReply(Exception):
    """The server sent something that is not an SMTP reply line."""

    def __init__(self, message: str, lines: tuple[str, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.lines = lines


@dataclass(frozen=True)
class Framed:
    """What `frame` found in a run of bytes.

    `replies` are the complete replies in order; `partial` the decoded lines of
    an unfinished reply (and any unterminated tail); `rest` the bytes after the
    last complete reply.
    """

    replies: tuple[Reply, ...]
    partial: tuple[str, ...]
    rest: bytes


def _not_smtp_hint(line: bytes) -> str:
    if line.startswith(b"HTTP/"):
        return " (looks like an HTTP server)"
    if line.startswith(b"SSH-"):
        return " (looks like an SSH server)"
    if line[:1] == b"\x16" and line[1:2] == b"\x03":
        return " (looks like TLS: is this an implicit-TLS port such as 465?)"
    if line.startswith(b"+OK") or line.startswith(b"* OK"):
        return " (looks like a POP3 or IMAP server)"
    return ""


def _check_line(line: bytes) -> None:
    if not _CODE.fullmatch(line[:3]) or line[3:4] not in (b"", b" ", b"-"):
        shown = decode_line(line[:200])
        if line[:4].isdigit():
            reason = "reply code has more than three digits (RFC 5321 §4.2)"
        elif line[:3].isdigit():
            reason = (f"reply code {shown[:3]} is out of range "
                      "(RFC 5321 §4.2: 2xx-5xx, second digit 0-5)")
        else:
            reason = "not an SMTP reply line" + _not_smtp_hint(line)
        raise MalformedReply(reason, (shown,))


def frame(data: bytes) -> Framed:
    """Split raw server bytes into validated replies.

    Raises MalformedReply (carrying the lines read so far) at the first line
    that is not a valid reply line; a line is only judged once its LF arrived,
    except that an unterminated tail is checked as far as it goes so garbage
    is reported even when the server never ends its line.
    """
    replies: list[Reply] = []
    current: list[bytes] = []
    oddities: list[str] = []
    start = 0
    reply_start = 0
    while True:
        end = data.find(b"\n", start)
        if end == -1:
            break
        raw_line = data[start:end + 1]
        line = raw_line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        elif "bare LF line ending (RFC 5321 requires CRLF)" not in oddities:
            oddities.append("bare LF line ending (RFC 5321 requires CRLF)")
        try:
            _check_line(line)
        except MalformedReply as exc:
            raise MalformedReply(exc.message, tuple(decode_line(x[4:]) for x in current)
                                 + exc.lines) from None
        if len(raw_line) + (0 if raw_line.endswith(b"\r\n") else 1) > MAX_REPLY_LINE:
            note = f"reply line longer than {MAX_REPLY_LINE} octets (RFC 5321 §4.5.3.1.5)"
            if note not in oddities:
                oddities.append(note)
        current.append(line)
        start = end + 1
        if line[3:4] != b"-":
            replies.append(_build(current, data[reply_start:start], oddities))
            current, oddities, reply_start = [], [], start
    tail = data[start:]
    if tail and len(tail) >= 4:
        _check_line(tail.rstrip(b"\r"))
    partial = tuple(decode_line(x[4:]) for x in current)
    if tail:
        partial += (decode_line(tail.rstrip(b"\r")[4:] if _CODE.fullmatch(tail[:3]) else tail),)
    return Framed(tuple(replies), partial, data[reply_start:])


def _build(lines: list[bytes], raw: bytes, oddities: list[str]) -> Reply:
    codes = {line[:3] for line in lines}
    notes = list(oddities)
    if len(codes) > 1:
        shown = ", ".join(sorted(c.decode() for c in codes))
        notes.append(f"codes differ inside one multiline reply ({shown}); RFC 5321 §4.2.1 "
                     "requires the same code on every line")
    if len(lines) > MANY_LINES:
        notes.append(f"unusually long reply: {len(lines)} lines")
    texts = tuple(decode_line(line[4:]) for line in lines)
    if not any(texts):
        notes.append("reply has no text, only a code")
    enhanced = next((e for e in (parse_enhanced(t) for t in texts) if e), None)
    return Reply(int(lines[-1][:3]), texts, raw, enhanced, tuple(notes))
