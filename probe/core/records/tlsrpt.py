"""TLS-RPT records (RFC 8460 §3): `v=TLSRPTv1; rua=URI[,URI]` plus extensions.

Unlike DMARC, the version and the `rua` name are case-sensitive (`%s` in
the ABNF), a record is one only when it begins with "v=TLSRPTv1" and a
";", and every `rua` URI must be `mailto:` or `https:`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Problem
from . import taglist
from .names import is_ascii_alnum
from .uri import https_ok, mailto_domain

VERSION = "v=TLSRPTv1"
MAX_URIS = 10


@dataclass(frozen=True)
class TlsRptRecord:
    text: str
    rua: tuple[str, ...]
    problems: tuple[Problem, ...]


def is_tlsrpt(text: str) -> bool:
    """Begins with "v=TLSRPTv1" then optional blanks and ";" (RFC 8460 §3)."""
    return text.startswith(VERSION) and \
        text[len(VERSION):].lstrip(taglist.BLANKS)[:1] == ";"


def looks_like_tlsrpt(text: str) -> bool:
    core = text.strip().strip("\"'").strip().lower()
    return core.startswith("v=tlsrpt") and not is_tlsrpt(text)


def parse(text: str, domain: str) -> TlsRptRecord:
    """Parse a record known to be TLS-RPT (`is_tlsrpt`); `domain` names it in problems."""
    tags, malformed = taglist.split(text)
    problems = [Problem("tls_rpt_bad_syntax", {"domain": domain, "text": piece})
                for piece in malformed[:5]]
    rua: list[str] = []
    seen: set[str] = set()
    for tag in tags[1:]:
        if tag.name in seen:
            problems.append(Problem("tls_rpt_bad_syntax", {"domain": domain, "text": tag.text}))
            continue
        seen.add(tag.name)
        if tag.name == "rua":
            for uri in tag.value.split(",")[:MAX_URIS]:
                uri = uri.strip(taglist.BLANKS)
                rua.append(uri)
                if not (mailto_domain(uri) or https_ok(uri)):
                    problems.append(Problem("tls_rpt_bad_uri", {"domain": domain, "uri": uri}))
        elif not (_extension_name_ok(tag.name) and _extension_value_ok(tag.value)):
            problems.append(Problem("tls_rpt_bad_syntax", {"domain": domain, "text": tag.text}))
    if "rua" not in seen:
        problems.append(Problem("tls_rpt_no_rua", {"domain": domain}))
    return TlsRptRecord(text, tuple(rua), tuple(problems))


def _extension_name_ok(name: str) -> bool:
    """(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")"""
    return 0 < len(name) <= 32 and is_ascii_alnum(name[0]) and all(
        is_ascii_alnum(ch) or ch in "_-." for ch in name)


def _extension_value_ok(value: str) -> bool:
    """1*(%x21-3A / %x3C / %x3E-7E): visible ASCII but ';' and '='."""
    return bool(value) and all("\x21" <= ch <= "\x7e" and ch not in ";=" for ch in value)
