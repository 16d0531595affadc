"""DNS lookups for health checks: every answer is a value, never an exception.

Checks need to tell three things apart that resolvers report in different
ways: records found, nothing there (NXDOMAIN or an empty answer: a "void
lookup" in SPF terms), and a failure (SERVFAIL, timeout) that makes the
check's verdict unknowable. The error wording and the outer deadline are
MX discovery's (`mx.query`), so a failing server reads the same everywhere.

DANE is only usable when the answer was validated, which a stub resolver
learns from the AD bit of a validating resolver (RFC 6840 §5.7). Resolvers
set AD only for clients that ask (AD or DO in the query), so `dnssec=True`
asks with both on a copy of the probe's resolver; other lookups stay small.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.resolver

from ..mx import DnsFailure, query

MAX_TXT_CHARS = 65535
"""A TXT RRset cannot be bigger than a DNS message; anything longer is cut."""
EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no fragmentation, TCP beyond it


@dataclass(frozen=True)
class Lookup:
    """The result of one query: `ok` with records, `nxdomain`, `nodata`, or `error`.

    `authenticated` is the resolver's AD bit (it validated the answer with
    DNSSEC); meaningful only for a lookup made with `dnssec=True`.
    """

    status: Literal["ok", "nxdomain", "nodata", "error"]
    records: tuple[Any, ...] = ()
    error: str = ""
    authenticated: bool = False

    @property
    def void(self) -> bool:
        """No records and no error (RFC 7208 §4.6.4's "void lookup")."""
        return self.status in ("nxdomain", "nodata")


def _validating(resolver: dns.asyncresolver.Resolver) -> dns.asyncresolver.Resolver:
    """A copy of `resolver` that asks for the AD bit (AD and DO set in each query)."""
    asking = copy.copy(resolver)
    asking.flags = (resolver.flags if resolver.flags is not None else dns.flags.RD) | dns.flags.AD
    asking.use_edns(0, dns.flags.DO, EDNS_PAYLOAD)
    return asking


async def lookup(resolver: dns.asyncresolver.Resolver, name: str | dns.name.Name, rdtype: str,
                 *, dnssec: bool = False) -> Lookup:
    """Ask `resolver` for `name`'s `rdtype` records (never the search list)."""
    try:
        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError):
        return Lookup("error", error=f"{name!r} is not a valid DNS name")
    try:
        answer = await query(_validating(resolver) if dnssec else resolver, qname, rdtype)
    except dns.resolver.NXDOMAIN:
        return Lookup("nxdomain")
    except DnsFailure as failure:
        return Lookup("error", error=failure.message)
    if answer is None:
        return Lookup("nodata")
    return Lookup("ok", tuple(answer), authenticated=bool(answer.response.flags & dns.flags.AD))


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


async def addresses(resolver: dns.asyncresolver.Resolver, name: str) -> Lookup:
    """IPv4 then IPv6 addresses of `name` as text; `error` only when both lookups failed."""
    found = [await lookup(resolver, name, rdtype) for rdtype in ("A", "AAAA")]
    texts = tuple(rdata.to_text() for one in found for rdata in one.records)
    if not texts and all(one.status == "error" for one in found):
        return found[0]
    return Lookup("ok" if texts else "nodata", texts)
