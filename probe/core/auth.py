"""SMTP AUTH (RFC 4954) for `--auth USER`: which mechanism, and what goes on the wire.

The password is a `Secret`; the session sends what `responses` yields and
records only the redacted text shown next to it, so neither the password
nor its base64 ever reaches a transcript, a JSON document or a saved report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from .secret import Secret

# Best first: CRAM-MD5 never sends the password, even inside TLS; PLAIN is
# the standard submission mechanism; LOGIN is the legacy fallback.
SUPPORTED = ("CRAM-MD5", "PLAIN", "LOGIN")


@dataclass(frozen=True)
class AuthSpec:
    user: str
    password: Secret
    allow_plaintext: bool = False


def offered(ehlo_lines: Iterable[str]) -> tuple[str, ...]:
    """Mechanisms an EHLO reply advertises (`AUTH PLAIN LOGIN`, old `AUTH=LOGIN` too)."""
    found: list[str] = []
    for line in ehlo_lines:
        words = line.replace("=", " ", 1).split() if line.upper().startswith("AUTH=") \
            else line.split()
        if words and words[0].upper() in ("AUTH", "AUTH="):
            found += [w.upper() for w in words[1:] if w.upper() not in found]
    return tuple(found)


def choose(mechanisms: Iterable[str]) -> str | None:
    """The best mechanism both sides know, or None."""
    available = set(mechanisms)
    return next((m for m in SUPPORTED if m in available), None)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class Line:
    """One client line of the exchange: what is sent, and what may be shown."""

    wire: str
    shown: str


def first_line(mechanism: str, spec: AuthSpec) -> Line:
    if mechanism == "PLAIN":  # the credentials go in the initial response (RFC 4616)
        blob = _b64(f"\0{spec.user}\0{spec.password.reveal()}")
        return Line(f"AUTH PLAIN {blob}", "AUTH PLAIN [credentials redacted]")
    return Line(f"AUTH {mechanism}", f"AUTH {mechanism}")


def answer(mechanism: str, spec: AuthSpec, challenge: str, round_: int) -> Line | None:
    """The client's answer to a 334 challenge (its text, still base64), or None to give up."""
    if mechanism == "LOGIN" and round_ == 0:
        return Line(_b64(spec.user), "[user name, base64]")
    if mechanism == "LOGIN" and round_ == 1:
        return Line(_b64(spec.password.reveal()), "[password redacted]")
    if mechanism == "CRAM-MD5" and round_ == 0:
        try:
            raw = base64.b64decode(challenge.strip(), validate=True)
        except ValueError:
            return None
        digest = hmac.new(spec.password.reveal().encode("utf-8"), raw, hashlib.md5).hexdigest()
        return Line(_b64(f"{spec.user} {digest}"), "[response redacted]")
    return None
