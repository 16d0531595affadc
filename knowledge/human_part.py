"""Which recipient each sentence of a bounce's human-readable text is about.

MTAs word their notices differently but lay them out the same way: an
address, then the reason for it (Postfix `<a@b>: host x said: 550 ...`, qmail
`<a@b>:` and the reason below, Exim's indented address and `SMTP error from
remote mail server ...`, Sendmail's `(reason: 550 ...)`, Google's address and
then "Technical details", Exchange's address and `#550 5.1.1 ... ##`, Domino's
"was not delivered to: a@b because: ..."). So the text is cut where the copy of
the original message starts, addresses are found, and each recipient gets the
text from its mentions up to the next mention of another recipient. A
recipient whose own text says nothing (one of a list sharing one reason) gets
the text around the list: the part before the first recipient and after the
last one.

Everything here is plain string scanning, linear in the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .extract import folds_left, folds_to_come
from .loader import notice_words

MAX_TEXT = 64 * 1024  # characters of notification text looked at
MAX_BLOCK = 3000  # characters of text kept per recipient
MAX_RECIPIENTS = 500
MAX_MARKS = 4 * MAX_RECIPIENTS  # address mentions looked at
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                         ".!#$%&'*+/=?^_`{|}~-")
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-#")
_MAX_LOCAL, _MAX_DOMAIN = 64, 255
_ROBOTS = ("postmaster@", "mailer-daemon@", "mail-daemon@", "mailer_daemon@")
# Lines whose addresses are the original message's headers, not recipients.
_HEADER_PREFIXES = ("from:", "to:", "cc:", "sender:", "reply-to:", "return-path:", "subject:",
                    "date:", "sent:", "message-id:", "message-id", "x-", "envelope-from")
_ORIGINAL_HEADER_STARTS = ("return-path:", "received:", "dkim-signature:")


@dataclass(frozen=True)
class RecipientText:
    """A recipient named in the notification and the text that concerns it."""

    address: str
    text: str  # from each mention of the address to the next mention of any
    common: str  # the notice's text before the first recipient and after the last
    shared: bool  # True when `text` says nothing beyond the address itself, and quotes no reply


def cut_original(text: str) -> str:
    """The notification text without the copy of the original message below it.

    The copy starts at a separator line ("--- Below this line is a copy of the
    message."), at the original's own header lines, or where three lines in a
    row are quoted with "> ".
    """
    text = text[:MAX_TEXT]
    pos = 0
    quoted_from, quoted_run = 0, 0
    for line in text.splitlines(keepends=True):
        low = line.strip().lower()
        if any(marker in low for marker in notice_words("original_markers")) or (
                line.lower().startswith(_ORIGINAL_HEADER_STARTS)):
            return text[:pos]
        if _is_quoted(low):
            quoted_from = pos if quoted_run == 0 else quoted_from
            quoted_run += 1
            if quoted_run == 3:
                return text[:quoted_from]
        else:
            quoted_run = 0
        pos += len(line)
    return text


def _is_quoted(stripped: str) -> bool:
    """A line quoted with "> " (not Sendmail's ">>> " transcript)."""
    return stripped.startswith(">") and not stripped.startswith(">>") and (
        len(stripped) == 1 or stripped[1] in " \t")


def find_addresses(line: str) -> list[tuple[int, int, str]]:
    """(start, end, address) of every mail address in `line`.

    Each "@" is widened to the characters an address may hold (at most 64
    before and 255 after), so the scan is linear however the line is built.
    """
    found: list[tuple[int, int, str]] = []
    at = line.find("@")
    while at >= 0 and len(found) < MAX_RECIPIENTS:
        start = at
        while start > 0 and at - start < _MAX_LOCAL and line[start - 1] in _LOCAL_CHARS:
            start -= 1
        end = at + 1
        while end < len(line) and end - at < _MAX_DOMAIN and line[end] in _DOMAIN_CHARS:
            end += 1
        local = line[start:at].lstrip(".'\"={")  # "{'bob@example.org': ..." (a dict)
        if local[:5].lower() == "smtp=":  # X.400 gateways: "dda:SMTP=bob@example.com"
            local = local[5:]
        glued = local[1:] if local[:1] == "#" else local  # Exchange's "host #550-..."
        if len(glued) > 4 and glued[3] == "-" and glued[0] in "245" and glued[1:3].isdigit():
            local = glued[4:]  # a folded reply's "550-" glued to it: "550-bob@example.org is"
        domain = line[at + 1 : end].rstrip(".-")
        if local and "." in domain and any(c.isalnum() for c in domain):
            start = at - len(local)
            found.append((start, at + 1 + len(domain), f"{local}@{domain}"))
        at = line.find("@", max(end, at + 1))
    return found


def _is_header_line(line: str) -> bool:
    return line.strip().lower().startswith(_HEADER_PREFIXES)


def reply_start(line: str) -> int:
    """Where the first reply code on the line starts ("552 Quota violation for a@b"), or -1.

    Addresses after it are inside a quoted reply, however long the reply runs
    ("550 5.7.1 ... send an e-mail message from another address to dz@rota.lv").
    """
    pos = 0
    for word in line.split():
        pos = line.find(word, pos)
        # Exchange: "returned '550 ...'", "host #550 5.1.1 ...", "#5.0.0 smtp;550 ...",
        # its protocol log's "192.0.2.7:25,<,550 ..."
        tok = word.rpartition(";")[2].rpartition(",<,")[2].lstrip("'\"([#")
        if len(tok) >= 3 and tok[0] in "245" and tok[1:3].isdigit() and (
                len(tok) == 3 or tok[3] in "-,"):  # "(550, b'5.1.1 ...')": Python's smtplib
            return pos + len(word) - len(tok)
        pos += len(word)
    return -1


def _is_alias(before: str) -> bool:
    """True for the address a recipient was expanded or generated from."""
    tail = before[-48:].lower()
    return any(phrase in tail for phrase in notice_words("alias_phrases"))


def mentions(text: str, exclude: set[str]) -> list[tuple[int, str]]:
    """(offset, address) of every address that is named as a recipient.

    Not counted: addresses in header-like lines (the original's From, To...),
    in a quoted reply ("552 Quota violation for a@b"), and the address a
    recipient was expanded from ("(expanded from <x>)") -- unless that is the
    only address the notice names ("Originally addressed to a@b").
    """
    named: list[tuple[int, str]] = []
    aliases: list[tuple[int, str]] = []
    pos = 0
    pending = 0  # lines still to come of a reply folded over several lines
    reply_indent = 0  # how far the line that reply started on is indented
    previous = ""
    for line in text.splitlines(keepends=True):
        if not _is_header_line(line):
            # A fold is never indented less than the reply it continues: Exim
            # indents a recipient's reply deeper than the next recipient.
            indent = len(line) - len(line.lstrip(" \t"))
            folded = pending > 0 and bool(line.strip()) and indent >= reply_indent
            reply_at = 0 if folded else reply_start(line)
            for start, _end, address in find_addresses(line):
                low = address.lower()
                before = line[max(0, start - 200) : start]
                if low in exclude or low.startswith(_ROBOTS) or 0 <= reply_at < start:
                    continue
                (aliases if _is_alias(before) else named).append((pos + start, address))
            # The lines a reply is folded over are its words, addresses and
            # all, even when a paste lost their indent (`folds_to_come`).
            if folded:
                pending = folds_left(line, pending)
            elif reply_at >= 0:
                pending = folds_to_come(line[:reply_at], line[reply_at:], previous)
                reply_indent = indent
            else:
                pending = 0
        previous = line
        pos += len(line)
    return named or aliases


def recipient_texts(text: str, exclude: set[str],
                    known: list[str] | None = None) -> list[RecipientText]:
    """Each recipient the notification names, in order, with the text about it.

    `exclude` holds lowercased addresses that are not recipients (the bounce's
    own From and To); with `known` (from the DSN) only those are looked for.
    """
    text = cut_original(text)
    wanted = {a.lower() for a in known} if known is not None else None
    marks = [(pos, addr) for pos, addr in mentions(text, exclude)
             if wanted is None or addr.lower() in wanted][:MAX_MARKS]
    if not marks:
        return []
    # Each mention owns the text from the start of its line (the words before
    # an address are about it too: "Invalid final delivery userid: a@b") to the
    # start of the next mention's; consecutive mentions of one address merge.
    starts = []
    previous_end = 0
    for pos, address in marks:
        starts.append(max(text.rfind("\n", previous_end, pos) + 1, previous_end))
        previous_end = pos + len(address)
    spans: dict[str, list[list[int]]] = {}
    first: dict[str, str] = {}
    for (_pos, address), start, end in zip(marks, starts, [*starts[1:], len(text)], strict=True):
        key = address.lower()
        first.setdefault(key, address)
        own = spans.setdefault(key, [])
        if own and own[-1][1] == start:
            own[-1][1] = end
        else:
            own.append([start, end])
    common = text[: starts[0]] + "\n" + text[marks[-1][0] + len(marks[-1][1]) :]
    out = []
    for key in list(first)[:MAX_RECIPIENTS]:
        own_text = "\n".join(text[a : min(b, a + MAX_BLOCK)] for a, b in spans[key])[:MAX_BLOCK]
        rest = own_text.replace(first[key], " ")
        # A reply code is a reason however short its words ("503 5.5.2 Out of
        # Order" in OpenSMTPD's one line per recipient).
        shared = not _says_something(rest) and reply_start(rest) < 0
        out.append(RecipientText(first[key], own_text, common[:MAX_BLOCK], shared))
    return out


def _says_something(text: str) -> bool:
    """True when the text holds more than punctuation and a date or two."""
    letters = sum(1 for ch in text[:400] if ch.isalpha())
    return letters >= 12
