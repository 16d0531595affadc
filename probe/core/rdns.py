"""Reverse DNS of each mail host address, checked the way receivers check senders.

An MX usually sends mail too, and receivers reject senders whose address has
no PTR record or whose PTR name does not resolve back to the address
(forward-confirmed reverse DNS). A greeting that names a different host than
the PTR is harmless but confusing. These are findings, never outcomes.
"""

from __future__ import annotations

import asyncio

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from .events import Finding, HostKey


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


async def check(resolver: dns.asyncresolver.Resolver, key: HostKey) -> list[Finding]:
    """Findings about the PTR record of `key.address` (none when all is well)."""
    assert key.address is not None
    names = await _ptr_names(resolver, key.address)
    if names is None:
        return [Finding("info", f"reverse DNS of {key.address} could not be looked up "
                        "(DNS error)", "ptr_lookup_failed", key)]
    if not names:
        return [Finding("warning", f"{key.address} has no reverse DNS (PTR) record; many "
                        "receivers reject or distrust mail from addresses without one, and "
                        "this host probably sends mail too", "no_ptr", key)]
    for name in names:
        if await _resolves_to(resolver, name, key.address):
            if name.lower().rstrip(".") != key.host.lower().rstrip("."):
                return [Finding("info", f"reverse DNS of {key.address} is {name}, not the MX "
                                f"name {key.host} (forward-confirmed, so this is fine)",
                                "ptr_differs", key)]
            return []
    shown = ", ".join(names)
    return [Finding("warning", f"reverse DNS of {key.address} is {shown}, but that name does "
                    f"not resolve back to {key.address} (no forward-confirmed reverse DNS); "
                    "receivers that check FCrDNS will distrust this host's mail",
                    "ptr_not_confirmed", key)]
