"""A bounce event pasted as JSON, turned into the lines a log would show.

Developers meet bounces as their email service's webhook or API event and
paste that: SendGrid's `"reason": "550 5.1.1 ..."`, Amazon SES's
`"diagnosticCode": "smtp; 550 ..."`, Mailgun's `"delivery-status": {"code":
550, "message": "5.1.1 ..."}`, Postmark's `"Details"`, SparkPost's
`"raw_reason"`. Read as text, the reply there ends in JSON punctuation
(`",`), keeps its escapes (`\\u8be5`, `\\n`), and Mailgun's reply is split
into a number and a message. So a paste that is a JSON document is walked
and each string becomes a `key: value` line (its escapes decoded by the JSON
parser, never evaluated) - a string that starts with a reply code becomes
that reply's own line - and an object's numeric reply `code` is joined to
its `message` as the reply it was (each line of a multiline one with its
code). The extractor then reads those lines as it reads a log.

The walk is iterative (no recursion on hostile nesting) and bounded in the
lines it writes; a document nested deeper than the parser allows is no JSON
for this purpose.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_LINES = 10_000  # lines written from one document
_MESSAGE_KEYS = ("message", "description", "text")
_CODE_FIRST = re.compile(r"[2-5]\d\d[ -]\S")


def json_lines(text: str) -> str | None:
    """The document's strings as `key: value` lines, or None if `text` is no
    JSON object or array."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack and len(lines) < MAX_LINES:
        key, value = stack.pop()
        if isinstance(value, dict):
            joined = _message_key(value)
            if joined is not None:
                lines.append(_reply_lines(value["code"], value[joined]))
            stack.extend(reversed([(str(k), v) for k, v in value.items()
                                   if joined is None or k not in ("code", joined)]))
        elif isinstance(value, list):
            stack.extend(reversed([(key, item) for item in value]))
        elif isinstance(value, str) and value.strip():
            # A field that holds a reply is the reply's own line: "550 Blacklisted".
            lines.append(f"{key}: {value}" if key and not _CODE_FIRST.match(value) else value)
    # A blank line between fields: one field's words never continue another's
    # reply ("550 5.1.1" cut short, then "error_code: 550").
    return "\n\n".join(lines)


def _reply_lines(code: int, message: str) -> str:
    """The reply as the server sent it: Mailgun keeps a multiline reply's
    lines, each with its enhanced code but without the basic one ("5.1.1 The
    email account ...\n5.1.1 double-checking ..."), so each gets its code
    back ("550-", then "550 " on the last) and they read as one reply."""
    parts = message.strip("\n").split("\n")
    return "\n".join([*(f"{code}-{part}" for part in parts[:-1]), f"{code} {parts[-1]}"])


def _message_key(obj: dict[str, Any]) -> str | None:
    """The key whose text goes with the object's reply code, as in Mailgun's
    {"code": 550, "message": "5.1.1 ..."}; None when it holds no such pair."""
    code = obj.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 599:
        return None
    return next((k for k in _MESSAGE_KEYS if isinstance(obj.get(k), str) and obj[k].strip()),
                None)
