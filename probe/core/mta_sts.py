"""MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file, and MX pattern matching.

Pure parsing, strict where the RFC is strict, because a sender that finds a
malformed record or policy ignores MTA-STS altogether: what looks like
protection then protects nothing. Every problem is a catalogue code with
the part of the text that caused it, for the check to report.

Everything here reads untrusted text; each loop is bounded by the input's
size (the policy is capped before it gets here) and the only regular
expressions are single character classes, so nothing can backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TXT_VERSION = "v=STSv1"
POLICY_VERSION = "STSv1"
MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31557600  # RFC 8461 §3.2: one year
MAX_SHOWN = 120  # characters of an offending part quoted back

_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
_DIGITS = re.compile(r"[0-9]{1,10}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class Issue:
    """One problem: its catalogue code and the text that caused it."""

    code: str
    part: str = ""


@dataclass(frozen=True)
class StsRecord:
    id: str | None
    issues: tuple[Issue, ...]


@dataclass
class Policy:
    """A parsed policy; `issues` is empty when senders would accept it."""

    version: str | None = None
    mode: str | None = None
    max_age: int | None = None
    mx: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def parse_record(text: str) -> StsRecord:
    """Parse a `v=STSv1; id=...;` TXT record (RFC 8461 §3.1)."""
    parts = [p.strip(" \t") for p in text.split(";")]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing separator is allowed
    if not parts or parts[0] != TXT_VERSION:
        return StsRecord(None, (Issue("mta_sts_txt_syntax", _cut(text)),))
    found_id: str | None = None
    issues: list[Issue] = []
    for part in parts[1:]:
        name, eq, value = part.partition("=")
        if not eq or not _FIELD_NAME.fullmatch(name) or not _EXT_VALUE.fullmatch(value):
            issues.append(Issue("mta_sts_txt_syntax", _cut(part)))
        elif name == "id":
            if found_id is not None:
                issues.append(Issue("mta_sts_txt_syntax", _cut(part)))
            elif not _ID.fullmatch(value):
                issues.append(Issue("mta_sts_txt_bad_id", _cut(value)))
            else:
                found_id = value
    if found_id is None and not any(i.code == "mta_sts_txt_bad_id" for i in issues):
        issues.append(Issue("mta_sts_txt_no_id"))
    return StsRecord(found_id, tuple(issues))


def valid_pattern(pattern: str) -> bool:
    """`["*."] Domain` (RFC 8461 §3.2): LDH labels, at least two, no final dot."""
    name = pattern[2:] if pattern.startswith("*.") else pattern
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(x) for x in labels)


def parse_policy(text: str) -> Policy:
    """Parse a policy body (RFC 8461 §3.2): `key: value` lines ended by LF or CRLF."""
    policy = Policy()
    seen: set[str] = set()
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip(" \t"):
            continue
        name, colon, value = line.partition(":")
        value = value.strip(" \t")
        if not colon or not _FIELD_NAME.fullmatch(name) or not value:
            policy.issues.append(Issue("mta_sts_policy_syntax", _cut(line)))
            continue
        if name in ("version", "mode", "max_age"):
            if name in seen:
                policy.issues.append(Issue("mta_sts_policy_duplicate", name))
                continue
            seen.add(name)
        if name == "version":
            policy.version = value
            if value != POLICY_VERSION:
                policy.issues.append(Issue("mta_sts_policy_version", _cut(value)))
        elif name == "mode":
            policy.mode = value
            if value not in MODES:
                policy.issues.append(Issue("mta_sts_policy_mode", _cut(value)))
        elif name == "max_age":
            if _DIGITS.fullmatch(value) and int(value) <= MAX_AGE_LIMIT:
                policy.max_age = int(value)
            else:
                policy.issues.append(Issue("mta_sts_policy_max_age", _cut(value)))
        elif name == "mx":
            policy.mx.append(value)
            if not valid_pattern(value):
                policy.issues.append(Issue("mta_sts_policy_bad_mx", _cut(value)))
        else:
            policy.extensions.append(name)  # unknown fields are ignored (§3.2)
    for required in ("version", "mode", "max_age"):
        if required not in seen:
            policy.issues.append(Issue("mta_sts_policy_missing", required))
    if not policy.mx and policy.mode in ("enforce", "testing"):
        policy.issues.append(Issue("mta_sts_policy_missing", "mx"))
    return policy


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: exact (case-insensitive), or `*.` standing for exactly one label."""
    pattern, host = pattern.lower(), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, dot, rest = host.partition(".")
        return bool(head) and bool(dot) and rest == pattern[2:]
    return host == pattern


def covered(patterns: list[str], host: str) -> bool:
    return any(valid_pattern(p) and mx_matches(p, host) for p in patterns)
