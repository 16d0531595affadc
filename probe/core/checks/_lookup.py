"""DNS lookups for health checks: one deadline each, typed failures, the AD bit on request.

Checks ask DNS for small things (a TXT record, a PTR, TLSA records) and must
tell "not published" (NXDOMAIN, no data: a verdict) from "could not ask"
(SERVFAIL, timeout: an `error` result). `lookup` makes that split once, so
every check words it the same way.

DANE is only usable when the answer was validated, which a stub resolver
learns from the AD bit of a validating resolver (RFC 6840 §5.7). Resolvers
set AD only for clients that ask (AD or DO in the query), so `dnssec=True`
asks with both on a copy of the probe's resolver; the other lookups stay as
small as they were.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.rdata
import dns.resolver

MAX_ERROR_CHARS = 300  # a resolver's error text is shown to the admin, but bounded
EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no fragmentation, TCP beyond it


class DnsFailed(Exception):
    """The question could not be answered (SERVFAIL, REFUSED, timeout, bad name)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Answer:
    """The records of one name and type (none: NXDOMAIN or no data of that type).

    `authenticated` is the resolver's AD bit: it validated the answer with
    DNSSEC. Only meaningful when the lookup asked with `dnssec=True`.
    """

    records: tuple[dns.rdata.Rdata, ...]
    authenticated: bool = False


def _validating(resolver: dns.asyncresolver.Resolver) -> dns.asyncresolver.Resolver:
    """A copy of `resolver` that asks for the AD bit (AD and DO set in each query)."""
    asking = copy.copy(resolver)
    asking.flags = (resolver.flags if resolver.flags is not None else dns.flags.RD) | dns.flags.AD
    asking.use_edns(0, dns.flags.DO, EDNS_PAYLOAD)
    return asking


async def lookup(resolver: dns.asyncresolver.Resolver, name: str | dns.name.Name, rdtype: str,
                 *, dnssec: bool = False) -> Answer:
    """The `rdtype` records of `name`, or DnsFailed; the wait is bounded by the resolver's
    lifetime (plus a margin for a resolver that overruns it)."""
    asking = _validating(resolver) if dnssec else resolver
    try:
        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
        async with asyncio.timeout(resolver.lifetime + resolver.timeout + 1.0):
            answer = await asking.resolve(qname, rdtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return Answer(())
    except TimeoutError:
        raise DnsFailed(f"no answer within {resolver.lifetime:g} s") from None
    except dns.exception.DNSException as exc:
        raise DnsFailed(str(exc) or exc.__class__.__name__) from None
    authenticated = bool(answer.response.flags & dns.flags.AD)
    return Answer(tuple(answer), authenticated)


def txt_text(rdata: dns.rdata.Rdata, limit: int) -> str:
    """A TXT record's strings joined (RFC 7208 §3.3 / RFC 8461 §3.1), decoded without
    failing on odd bytes, and cut at `limit` characters."""
    strings: tuple[bytes, ...] = getattr(rdata, "strings", ())
    return b"".join(strings)[:limit].decode("utf-8", "backslashreplace")


async def addresses(resolver: dns.asyncresolver.Resolver, name: str) -> list[str]:
    """IPv4 then IPv6 addresses of `name` (DnsFailed only when both lookups failed)."""
    found: list[str] = []
    failures: list[DnsFailed] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [rdata.to_text() for rdata in (await lookup(resolver, name, rdtype)).records]
        except DnsFailed as failed:
            failures.append(failed)
    if not found and len(failures) == 2:
        raise failures[0]
    return found
