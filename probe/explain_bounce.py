"""`probe explain -` and `probe explain FILE` for whole bounces: one block per recipient.

Reading: `-` reads standard input as bytes; a single argument is a file when it
names an existing file and is not itself a code (`451`, `5.1.1`), so a file
called `451` never hides the code. An argument that looks like a path (it has
a slash or a mail-file extension) but cannot be read is an error, not a reply.
Compressed input is unpacked (`packed_input`). At most
`knowledge.bounce.MAX_INPUT` bytes are read; more is said on stderr.

Everything from the bounce (addresses, host names, reply text) is untrusted
and goes through `to_display` before it is printed; JSON carries it as found
(escaped by the encoder).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from knowledge import labels
from knowledge.i18n import table
from knowledge.limits import MAX_INPUT

from .explain_cmd import INDENT, WIDTH, _body, _not_code
from .packed_input import UnreadablePacked, unpacked
from .present.annotation import annotation_dict
from .present.wrap import fill
from .sanitize import to_display

if TYPE_CHECKING:  # the bounce parser loads the email package: only for real bounces
    from knowledge.bounce import InputExplanation, RecipientFailure

_MAIL_FILE_SUFFIXES = (".eml", ".mbox", ".mbx", ".msg", ".txt", ".mail")


class UnreadableInput(Exception):
    """The argument names a file that cannot be read; the message says why."""


def _looks_like_path(arg: str) -> bool:
    return os.sep in arg or "/" in arg or arg.lower().endswith(_MAIL_FILE_SUFFIXES)


def read_source(replies: list[str], stdin: TextIO) -> bytes | None:
    """The bytes to explain as a whole, or None when the words are a reply.

    Compressed bytes (a rotated log, `mail.log.2.gz`) are unpacked.
    Raises UnreadableInput for a path that cannot be read.
    """
    if replies == ["-"]:
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            return _unpacked(bytes(buffer.read(MAX_INPUT + 1)), "standard input")
        return stdin.read(MAX_INPUT + 1).encode("utf-8", "surrogateescape")
    if len(replies) != 1 or not _not_code(replies[0]):
        return None
    path = replies[0]
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise UnreadableInput(f"{to_display(path, limit=200)} is a directory")
        if _looks_like_path(path):
            raise UnreadableInput(f"no such file: {to_display(path, limit=200)}")
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT + 1)
    except OSError as exc:
        raise UnreadableInput(
            f"cannot read {to_display(path, limit=200)}: {exc.strerror}") from None
    return _unpacked(data, to_display(path, limit=200))


def _unpacked(data: bytes, name: str) -> bytes:
    """`data` unpacked when compressed; read only as far as the input limit
    reaches (one byte more, so that a cut is noticed and said)."""
    try:
        return unpacked(data, MAX_INPUT + 1)
    except UnreadablePacked as exc:
        raise UnreadableInput(f"{name}: {exc}") from None


def failure_json(item: RecipientFailure) -> dict[str, Any]:
    """The JSON object for one failed recipient: where it failed, why, what to do."""
    return {
        "recipient": item.recipient, "original_recipient": item.original_recipient,
        "action": item.action, "status": item.status, "code": item.code,
        "enhanced": item.annotation.enhanced or item.status, "text": item.text,
        "remote_mta": item.remote_mta, "reporting_mta": item.reporting_mta,
        "evidence": item.evidence, "stage": item.stage, "message": item.message,
        **annotation_dict(item.annotation),
    }


def render_failure(item: RecipientFailure, lang: str, *, show_message: bool = False) -> str:
    """Plain-text block for one failed recipient, at most 80 columns (URLs aside)."""
    lab = labels(lang)
    ann = item.annotation
    head = (to_display(item.recipient, limit=200) if item.recipient
            else f"({lab['no_recipient']})")
    if item.original_recipient and item.original_recipient != item.recipient:
        head += f" ({lab['originally']} {to_display(item.original_recipient, limit=200)})"
    if show_message:
        head = f"[{lab['message_no']} {item.message + 1}] {head}"
    lines = [fill(head, WIDTH, "", INDENT * 2)]
    facts = [lab[f"action_{item.action}"]]
    if item.status:
        facts.insert(0, f"{lab['status']} {item.status}")
    if item.remote_mta:
        facts.append(f"{lab['remote_mta']} {to_display(item.remote_mta, limit=200)}")
    if item.stage:
        facts.append(f"{lab['stage']}: {table(lang, 'stages').get(item.stage, item.stage)}")
    lines.append(fill(" · ".join(facts), WIDTH, INDENT, INDENT * 2))
    if item.text:
        reply = " ".join(x for x in (str(item.code or ""), item.text) if x)
        lines.append(fill(f"{lab['reply']}: {to_display(reply, limit=600)}", WIDTH, INDENT,
                          INDENT * 3))
    title = ann.title
    if ann.enhanced and ann.enhanced_title and ann.enhanced_title != ann.title:
        title = f"{title} [{ann.enhanced}: {ann.enhanced_title}]"
    lines.append(fill(f"=> {title}", WIDTH, "", "   "))
    # Prose that decided nothing beyond the class (`matched` "class:5") stated no cause.
    no_cause = item.evidence == "prose" and ann.matched.startswith("class:")
    note = lab["evidence_no_cause"] if no_cause else lab[f"evidence_{item.evidence}"]
    lines.append(fill(f"({note})", WIDTH, INDENT, INDENT))
    lines.append("")
    _body(lines, ann, lang)
    return "\n".join(lines)


def say_truncated(lang: str) -> None:
    """Say on stderr that input beyond the limit was not read, whatever it held."""
    print(f"probe explain: {labels(lang)['truncated']} ({MAX_INPUT // (1024 * 1024)} MiB read)",
          file=sys.stderr)


def render_bounce(result: InputExplanation, *, as_json: bool, lang: str, out: TextIO) -> None:
    """Print the failed recipients: a JSON list, or one plain block each."""
    lab = labels(lang)
    if as_json:
        json.dump([failure_json(item) for item in result.failures], out, indent=2)
        out.write("\n")
        return
    several_messages = len({item.message for item in result.failures}) > 1
    blocks = [render_failure(item, lang, show_message=several_messages)
              for item in result.failures]
    if len(blocks) > 1:
        out.write(f"{len(blocks)} {lab['failed_recipients']}\n\n")
    out.write("\n\n".join(blocks) + "\n")
