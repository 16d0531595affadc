"""DNS lookups for health checks: every answer is a value, never an exception.

Checks need to tell three things apart that resolvers report in different
ways: records found, nothing there (NXDOMAIN or an empty answer: a "void
lookup" in SPF terms), and a failure (SERVFAIL, timeout) that makes the
check's verdict unknowable. The error wording and the outer deadline are
MX discovery's, so a failing server reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from ..mx import _Failure, _query

MAX_TXT_CHARS = 65535
"""A TXT RRset cannot be bigger than a DNS message; anything longer is cut."""


@dataclass(frozen=True)
class Lookup:
    """The result of one query: `ok` with records, `nxdomain`, `nodata`, or `error`."""

    status: Literal["ok", "nxdomain", "nodata", "error"]
    records: tuple[Any, ...] = ()
    error: str = ""

    @property
    def void(self) -> bool:
        """No records and no error (RFC 7208 §4.6.4's "void lookup")."""
        return self.status in ("nxdomain", "nodata")


async def lookup(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> Lookup:
    """Ask `resolver` for `name`'s `rdtype` records (never the search list)."""
    try:
        qname = dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError):
        return Lookup("error", error=f"{name!r} is not a valid DNS name")
    try:
        answer = await _query(resolver, qname, rdtype)
    except dns.resolver.NXDOMAIN:
        return Lookup("nxdomain")
    except _Failure as failure:
        return Lookup("error", error=failure.message)
    if answer is None:
        return Lookup("nodata")
    return Lookup("ok", tuple(answer))


def txt_texts(found: Lookup) -> list[str]:
    """Each TXT record as one string: its character-strings joined (RFC 7208 §3.3).

    Bytes that are not UTF-8 are kept as `\\xNN`, like server replies, so
    the record shown is the record published; views sanitise controls.
    """
    texts = []
    for rdata in found.records:
        joined = b"".join(getattr(rdata, "strings", ()))
        texts.append(joined[:MAX_TXT_CHARS].decode("utf-8", "backslashreplace"))
    return texts


async def txt(resolver: dns.asyncresolver.Resolver, name: str) -> tuple[Lookup, list[str]]:
    """The TXT records of `name`, as the lookup and as texts."""
    found = await lookup(resolver, name, "TXT")
    return found, txt_texts(found)
