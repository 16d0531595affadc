"""`ptr`: reverse DNS of each mail host address, checked the way receivers check senders.

An MX usually sends mail too, and receivers reject senders whose address has
no PTR record or whose PTR name does not resolve back to the address
(forward-confirmed reverse DNS).
"""

from __future__ import annotations

import asyncio

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from ..events import CheckResult, Problem
from .base import Check, CheckContext


async def _ptr_names(resolver: dns.asyncresolver.Resolver, address: str) -> list[str] | None:
    """PTR names of `address`; [] when there are none, None when DNS failed."""
    try:
        async with asyncio.timeout(resolver.lifetime + resolver.timeout + 1.0):
            answer = await resolver.resolve(dns.reversename.from_address(address), "PTR",
                                            search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, TimeoutError):
        return None
    return [rdata.target.to_text(omit_final_dot=True) for rdata in answer]


async def _resolves_to(resolver: dns.asyncresolver.Resolver, name: str, address: str) -> bool:
    rdtype = "AAAA" if ":" in address else "A"
    try:
        async with asyncio.timeout(resolver.lifetime + resolver.timeout + 1.0):
            answer = await resolver.resolve(dns.name.from_text(name), rdtype, search=False)
    except (dns.exception.DNSException, TimeoutError, ValueError):
        return False
    return any(rdata.to_text() == address for rdata in answer)


async def run(ctx: CheckContext) -> CheckResult | None:
    key = ctx.key
    if key is None or key.address is None:
        return None
    address = key.address
    params = {"address": address, "host": key.host}
    names = await _ptr_names(ctx.resolver, address)
    if names is None:
        return CheckResult("ptr", Problem("ptr_lookup_failed", params), host=key)
    if not names:
        return CheckResult("ptr", Problem("no_ptr", params), host=key)
    details = {"ptr": names}
    for name in names:
        if await _resolves_to(ctx.resolver, name, address):
            same = name.lower().rstrip(".") == key.host.lower().rstrip(".")
            code = "ptr_ok" if same else "ptr_differs"
            return CheckResult("ptr", Problem(code, {**params, "name": name}), record=name,
                               details={**details, "confirmed": name}, host=key)
    shown = ", ".join(names)
    return CheckResult("ptr", Problem("ptr_not_confirmed", {**params, "names": shown}),
                       record=shown, details=details, host=key)


CHECK = Check("ptr", "host", run)
