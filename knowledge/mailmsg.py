"""What an admin pasted: a whole message, an mbox, bare DSN fields, or plain text.

Messages are parsed with the standard `email` package (policy.default) and
reduced to what a bounce parser needs: the human-readable text (plain text
preferred, HTML converted when it is the only form), the delivery-status
bodies, and the addresses of the bounce's own headers (never recipients).
The copy of the original message (message/rfc822, text/rfc822-headers) is
not read, except when a gateway wrapped the whole report in one.

Input is hostile: every part is read with a size cap, undecodable charsets
fall back to UTF-8 with replacement, and a part the `email` package cannot
read is skipped instead of failing the whole message.
"""

from __future__ import annotations

import codecs
import email
import email.errors
import email.header
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from .dsn import field_blocks
from .html_text import html_to_text
from .human_part import find_addresses

MAX_PART = 256 * 1024  # bytes of one decoded part that are read
MAX_MESSAGES = 1000  # messages read from one mbox
MAX_DEPTH = 8  # MIME nesting followed
# MIME parts parsed at all. A bounce has a handful; the email package spends
# ~0.5 ms on the headers of each part with policy.default, recurses once per
# nested multipart (RecursionError near 1,000) and slows down with depth.
MAX_PARTS = 256
MAX_MULTIPARTS = 64
MAX_TOTAL_PARTS = 4096  # across the messages of an mbox (each keeps at least 8)
# Bytes kept of a MIME field the email package parses (Content-Type and its
# kin): its header parser is quadratic on long structured values (100,000
# parameters took 48 s). Real ones are a line or two.
MAX_MIME_FIELD = 1024
_MIME_FIELDS = (b"content-type:", b"content-transfer-encoding:", b"content-disposition:")
# A boundary parameter (RFC 2046 §5.1.1: 1 to 70 characters), quoted or not,
# and what may follow it on a delimiter line ("--b", "--b--", "--b  ").
_BOUNDARY = re.compile(
    rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,70})"|([^\s;"]{1,70}))', re.IGNORECASE)
_AFTER_BOUNDARY = (b"", b"\r", b"\n", b"-", b" ", b"\t")
_REPORT_TYPE = re.compile(
    rb"(content-type:[ \t]*)message/([a-z-]{0,20}delivery-status)", re.IGNORECASE)
_OWN_HEADERS = ("from", "to", "reply-to", "return-path", "sender", "delivered-to")
_MESSAGE_HEADERS = frozenset({
    "from", "to", "subject", "date", "received", "return-path", "message-id", "mime-version",
    "content-type", "delivered-to", "reply-to", "sender", "dkim-signature",
    "authentication-results", "x-failed-recipients", "auto-submitted",
})
_DSN_FIELDS = frozenset({"final-recipient", "original-recipient"})
# What the email package may raise on hostile input while reading one part.
_PART_ERRORS = (ValueError, LookupError, TypeError, IndexError, AttributeError, UnicodeError,
                RecursionError, email.errors.MessageError)


@dataclass
class MessageText:
    """The readable content of one message."""

    human: list[str] = field(default_factory=list)  # notification text, part by part
    dsn: list[str] = field(default_factory=list)  # delivery-status bodies
    own_addresses: set[str] = field(default_factory=set)  # lowercased, not recipients
    subject: str = ""


# ---------------------------------------------------------------- what kind of input

def _field_name(line: str) -> str | None:
    """The header field name a line starts with ("Subject: x" -> "subject"), if any."""
    name, colon, _ = line.partition(":")
    if colon and 0 < len(name) <= 76 and all(33 <= ord(c) <= 126 for c in name):
        return name.lower()
    return None


def _strip_leading_blank_lines(text: str) -> str:
    i = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            break
        i += len(line)
    return text[i:]


QUOTED_SHARE = 0.5  # of the non-blank lines, in one quoted block, to call a paste quoted
MIN_QUOTED_LINES = 3
MAX_QUOTE_DEPTH = 4  # levels of "> " taken off


def _unquote_line(line: bytes) -> bytes:
    if not line.startswith(b">"):
        return line
    line = line[1:]
    return line[1:] if line.startswith(b" ") else line


def _quoted_block(lines: list[bytes]) -> tuple[int, int, int]:
    """(first, end, quoted lines) of the longest run of lines behind ">" (blank
    lines inside it included)."""
    best = (0, 0, 0)
    first, count, last = -1, 0, -1
    for k, line in enumerate(lines):
        if line.startswith(b">"):
            if first < 0:
                first, count = k, 0
            count, last = count + 1, k
        elif line.strip() and first >= 0:
            if count > best[2]:
                best = (first, last + 1, count)
            first = -1
    if first >= 0 and count > best[2]:
        best = (first, last + 1, count)
    return best


def unquoted(data: bytes) -> bytes:
    """`data` with the "> " a mail client puts before each line it quotes
    taken off, when one quoted block makes up at least half the lines (and
    at least MIN_QUOTED_LINES of them, unless it is the whole paste).

    Admins paste a bounce as it reached them: forwarded, or quoted in a
    colleague's reply, every line behind "> " below a few lines of their own.
    Unquoted, its headers, MIME parts and indented folds read as they were
    written. A notice's own ">" lines (Sendmail's ">>> RCPT To:" in its
    transcript, a session log's client lines) are short runs among many, so
    they do not make it quoted. One level is taken off per pass, at most
    MAX_QUOTE_DEPTH, each a linear pass over the lines.
    """
    for _ in range(MAX_QUOTE_DEPTH):
        lines = data.split(b"\n")
        filled = sum(1 for line in lines if line.strip())
        first, end, count = _quoted_block(lines)
        # A short paste is unquoted only when it is quoted as a whole.
        if count < QUOTED_SHARE * filled or (count < MIN_QUOTED_LINES and count < filled):
            break
        lines[first:end] = [_unquote_line(line) for line in lines[first:end]]
        data = b"\n".join(lines)
    return data


def input_kind(text: str) -> str:
    """"mbox", "message", "dsn" (DSN fields alone) or "text" (replies, log lines).

    Only the first lines decide: a message starts with a block of header
    fields, one of them a field every message has; an mbox starts with a
    "From " line; bare DSN fields are blocks of fields (a per-message block may
    come first) with a Final-Recipient or Original-Recipient.
    """
    lines = _strip_leading_blank_lines(text[: 64 * 1024]).splitlines()[:400]
    if not lines:
        return "text"
    if lines[0].startswith("From ") and len(lines) > 1 and _field_name(lines[1]):
        return "mbox"
    first_block: set[str] | None = None  # field names up to the first blank line
    names: set[str] = set()  # field names of the leading blocks of fields
    fields_only = True  # no other line yet (DSN fields pasted alone are clean)
    for line in lines:
        if not line.strip():
            if first_block is None:
                first_block = set(names)
            continue
        if line[:1] in (" ", "\t") and names:
            continue
        name = _field_name(line)
        if name is None:
            if first_block is not None:
                break
            fields_only = False  # a header line unfolded by copy and paste
            continue
        names.add(name)
    head = names if first_block is None else first_block
    if _field_name(lines[0]) and len(head & _MESSAGE_HEADERS) >= 2:
        return "message"  # some gateways copy DSN fields into the message header
    return "dsn" if fields_only and names & _DSN_FIELDS else "text"


def _repair_header(data: bytes) -> bytes:
    """Re-fold header lines a copy and paste unfolded (a line without "Name:").

    Without this the `email` parser would end the header at such a line and
    read the real Content-Type, and with it the whole MIME structure, as body.
    A copy with no blank line before its last line lost the one that ends
    the header (a page that quotes a notice flush left): there the first line
    that is no field starts the body, as a bounce always has one.
    """
    out: list[bytes] = []
    lines = data.splitlines(keepends=True)
    last = max((i for i, line in enumerate(lines) if line.strip()), default=0)
    # Blank lines at the very end (an mbox's separator) end no header.
    ends_header = any(not line.strip() for line in lines[:last])
    for i, line in enumerate(lines):
        if not line.strip():
            return b"".join(out) + b"".join(lines[i:])
        if line[:1] not in (b" ", b"\t") and _field_name(line.decode("latin-1")) is None:
            if not ends_header:
                return b"".join(out) + b"\n" + b"".join(lines[i:])
            line = b" " + line
        out.append(line)
    return b"".join(out)


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, without their "From " separator lines."""
    messages: list[bytes] = []
    current: list[bytes] = []
    blank_before = True
    for line in data.splitlines(keepends=True):
        if blank_before and line.startswith(b"From "):
            if current:
                messages.append(b"".join(current))
                if len(messages) >= MAX_MESSAGES:
                    return messages
            current = []
        else:
            current.append(line)
        blank_before = not line.strip()
    if current:
        messages.append(b"".join(current))
    return messages


# ---------------------------------------------------------------- reading one message

def decode_payload(payload: bytes, charset: str | None) -> str:
    """Text of a part: its charset if Python knows it, else UTF-8, never an error."""
    payload = payload[:MAX_PART]
    name = (charset or "utf-8").strip().lower()
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-7" if "utf-7" in name else "utf-8"
    try:
        return payload.decode(name)
    except UnicodeDecodeError:
        pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(name, "replace")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    return decode_payload(payload, part.get_content_charset())


def _raw_utf8(value: str) -> str:
    """A field value as its sender wrote it: MTAs put a reply's UTF-8 into
    Diagnostic-Code as is (RFC 6533 allows it), and the email package keeps
    such 8-bit bytes as surrogate escapes, which would reach the classifier as
    noise instead of words."""
    if value.isascii():
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:  # a surrogate no byte could have made: keep the value
        return value


def _dsn_text(part: Message) -> str:
    """The body of a delivery-status part as field lines.

    For message/delivery-status the email package has already split the body
    into one Message per block, and any other message/* type (the
    message/xdelivery-status of some gateways) was read as one message whose
    headers are the first block; either way the fields are written back as text.
    """
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload[: 4 * 1024]:
            if isinstance(block, Message):
                blocks.append("\n".join(f"{k}: {_raw_utf8(v)}" for k, v in block.raw_items()))
                rest = block.get_payload()  # other message/* types: one "message"
                if isinstance(rest, str) and rest.strip():
                    blocks.append(rest[:MAX_PART])
        return "\n\n".join(blocks)
    return _part_text(part)


def _is_report(part: Message) -> bool:
    try:
        return part.get_content_type() == "multipart/report" or any(
            p.get_content_type().endswith("delivery-status") for p in part.walk())
    except _PART_ERRORS:
        return False


def _walk(part: Message, out: MessageText, wrapped: list[Message], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    try:
        ctype = part.get_content_type()
        if ctype.endswith("delivery-status"):
            out.dsn.append(_dsn_text(part))
        elif ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                wrapped.append(inner[0])
        elif ctype == "multipart/alternative":
            subparts = [p for p in part.get_payload() if isinstance(p, Message)]
            plain = [p for p in subparts if p.get_content_type() == "text/plain"]
            for sub in plain[:1] or subparts:
                _walk(sub, out, wrapped, depth + 1)
        elif part.is_multipart():
            for child in part.get_payload():
                if isinstance(child, Message):
                    _walk(child, out, wrapped, depth + 1)
        elif ctype == "text/html":
            out.human.append(html_to_text(_part_text(part)))
        elif ctype == "text/plain":
            out.human.append(_part_text(part))
    except _PART_ERRORS:
        return


def own_addresses(msg: Message) -> set[str]:
    """The lowercased addresses of a message's own header fields (From, To...):
    the sender and addressee of a notice, never its failed recipients."""
    found: set[str] = set()
    for name, value in msg.raw_items():
        if name.lower() in _OWN_HEADERS:
            found.update(a.lower() for _, _, a in find_addresses(str(value)))
    return found


def _subject(msg: Message) -> str:
    for name, value in msg.raw_items():
        if name.lower() == "subject":
            value = str(value)[:1000]  # decoding is slow on thousands of encoded words
            try:
                return str(email.header.make_header(email.header.decode_header(value)))
            except _PART_ERRORS:
                return str(value)
    return ""


def _nth(haystack: bytes, needle: bytes, n: int) -> int:
    """Offset of the n-th `needle` in `haystack` (1-based), or -1 if there are fewer."""
    pos = -1
    for _ in range(n):
        pos = haystack.find(needle, pos + 1)
        if pos < 0:
            return -1
    return pos


def _limit_parts(data: bytes, max_parts: int) -> bytes:
    """`data` cut before its (max_parts + 1)-th part or (MAX_MULTIPARTS + 1)-th multipart.

    Parts are counted by their Content-Type fields and by delimiter lines: a
    part needs no header of its own, and 40,000 bare delimiters made the email
    package build 40,000 messages (3 s for 280 KB).
    """
    lower = data.lower()
    cuts = [_nth(lower, b"content-type:", max_parts + 1),
            _nth(lower, b"multipart/", MAX_MULTIPARTS + 1),
            _nth_delimiter(data, max_parts + 1)]
    cut = min((c for c in cuts if c >= 0), default=-1)
    return data if cut < 0 else data[:cut]


def _nth_delimiter(data: bytes, n: int) -> int:
    """Offset of the n-th line that is "--" and a declared boundary, or -1."""
    found: list[int] = []
    boundaries: dict[bytes, None] = {}  # the first MAX_MULTIPARTS, in order
    for m in _BOUNDARY.finditer(data):
        boundaries.setdefault(m.group(1) or m.group(2))
        if len(boundaries) >= MAX_MULTIPARTS:
            break
    for boundary in boundaries:
        needle = b"\n--" + boundary
        pos, count = -1, 0
        while count < n:
            pos = data.find(needle, pos + 1)
            if pos < 0:
                break
            if data[pos + len(needle) : pos + len(needle) + 1] in _AFTER_BOUNDARY:
                found.append(pos + 1)
                count += 1
    found.sort()
    return found[n - 1] if len(found) >= n else -1


def _as_text_report(data: bytes) -> bytes:
    """Delivery-status parts relabelled text/*, so the email package keeps
    their blocks as one text (read by `field_blocks`) instead of building one
    message per blank-line-separated block: 50,000 blank lines there took
    1.6 s. Their fields are plain lines either way (RFC 3464 §2.1)."""
    return _REPORT_TYPE.sub(rb"\1text/\2", data)


def _limit_mime_fields(data: bytes) -> bytes:
    """Every Content-* field (with its folded lines) cut to MAX_MIME_FIELD bytes."""
    out: list[bytes] = []
    budget: int | None = None  # bytes left for the field being folded, if any
    for line in data.splitlines(keepends=True):
        if budget is not None and line[:1] in (b" ", b"\t"):
            kept = line[: max(budget, 0)]
            budget -= len(kept)
            if kept:
                out.append(kept if kept.endswith(b"\n") else kept + b"\n")
            continue
        budget = None
        if line[:32].lower().startswith(_MIME_FIELDS) and len(line) > 0:
            kept = line[:MAX_MIME_FIELD]
            budget = MAX_MIME_FIELD - len(kept)
            line = kept if kept.endswith(b"\n") else kept + b"\n"
        out.append(line)
    return b"".join(out)


def parts_per_message(count: int) -> int:
    """How many MIME parts each of `count` messages may have parsed."""
    return max(8, min(MAX_PARTS, MAX_TOTAL_PARTS // max(count, 1)))


def read_message(data: bytes, max_parts: int = MAX_PARTS) -> MessageText:
    """The readable content of one RFC 5322 message (bytes as received).

    Only the first `max_parts` MIME parts are parsed: the notice and the
    delivery-status fields come first, the copy of the original last.
    """
    start = 0
    while start < len(data) and data[start : start + 1] in (b"\n", b"\r", b" ", b"\t"):
        start += 1  # pasted messages often start with blank lines
    data = _limit_mime_fields(_limit_parts(_repair_header(data[start:]), max_parts))
    data = _as_text_report(data)
    try:
        msg = email.message_from_bytes(data, policy=policy.default)
    except RecursionError:  # nesting the limit above let through: read it as text
        return MessageText(human=[decode_payload(data, "utf-8")])
    out = MessageText(own_addresses=own_addresses(msg), subject=_subject(msg))
    wrapped: list[Message] = []
    _walk(msg, out, wrapped, 0)
    if not out.dsn:
        for inner in wrapped:  # a report a gateway wrapped in message/rfc822
            if _is_report(inner):
                nested = MessageText()
                _walk(inner, nested, [], 1)
                out.dsn.extend(nested.dsn)
                out.human.extend(nested.human)
                break
    dsn_in_text(out)
    return out


def dsn_in_text(out: MessageText) -> None:
    """Without a delivery-status part, a text part that holds DSN fields (some
    gateways write them into the notice's text) is read as one too."""
    if not out.dsn:
        for text in out.human:
            if any(block.keys() & _DSN_FIELDS for block in field_blocks(text)):
                out.dsn.append(text)
