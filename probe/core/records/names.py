"""What counts as a usable DNS name inside a policy record."""

from __future__ import annotations

MAX_NAME = 253
MAX_LABEL = 63
_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def is_ascii_alnum(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9")


def dns_name_ok(name: str) -> bool:
    """A name DNS can carry: printable ASCII, labels of 1..63 octets, 253 in all.

    Underscores and other printable characters are allowed (`_spf.example.com`,
    `_report._dmarc`): records point at such names on purpose.
    """
    body = name[:-1] if name.endswith(".") else name
    if not body or len(body) > MAX_NAME:
        return False
    if any(not ("\x21" <= ch <= "\x7e") for ch in body):
        return False
    return all(0 < len(label) <= MAX_LABEL for label in body.split("."))


def host_name_ok(name: str) -> bool:
    """A mail domain: at least two LDH labels, none starting or ending with '-'."""
    body = (name[:-1] if name.endswith(".") else name).lower()
    labels = body.split(".")
    if len(labels) < 2 or not dns_name_ok(body):
        return False
    return all(set(label) <= _LDH and label[0] != "-" and label[-1] != "-" for label in labels)


def same_or_below(name: str, parent: str) -> bool:
    """True when `name` is `parent` or one of its subdomains (case-insensitive)."""
    name, parent = name.lower().rstrip("."), parent.lower().rstrip(".")
    return name == parent or name.endswith("." + parent)
