"""`dnssec`: are the domain's DNS answers signed, and does a validating resolver accept them?

probe does not validate signatures itself; it asks the resolver in use
(the system's, or --nameserver) with the DO bit and reads what comes back:

* the root zone is always signed, so the AD flag on the root's DNSKEY
  answer says whether this resolver validates at all;
* the domain's MX answer then shows RRSIGs (signed) and AD (validated);
* SERVFAIL from a validating resolver that a retry with CD ("checking
  disabled") answers means the signatures are broken: validating senders
  cannot reach the domain at all;
* RRSIGs that a validating resolver does not mark AD mean the chain of
  trust is missing, usually no DS record at the parent.

When the resolver does not validate, the check says it cannot tell rather
than guess; it still reports whether signatures are present if the
resolver passes them on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.rdatatype
import dns.resolver

from ..events import CheckResult, Problem
from ..mx import resolver_name, server_errors
from .base import Check, CheckContext

EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no fragmentation, TCP when bigger


@dataclass(frozen=True)
class _Reply:
    """What one DO-bit query showed."""

    status: Literal["answer", "servfail", "timeout", "error"]
    ad: bool = False
    signatures: tuple[Any, ...] = ()  # RRSIG rdatas in the answer and authority sections
    types: frozenset[int] = frozenset()  # the record types in the answer section
    error: str = ""

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def signer(self) -> str | None:
        """The zone that signed the answer (RRSIG signer name)."""
        for rdata in self.signatures:
            return str(rdata.signer.to_text(omit_final_dot=True)) or "."
        return None


def _dnssec_resolver(base: dns.asyncresolver.Resolver, *,
                     checking_disabled: bool = False) -> dns.asyncresolver.Resolver:
    """A resolver asking the same servers with DO and AD set (and CD when asked).

    A copy: the run's resolver is shared with every other check and must not change.
    """
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = list(base.nameservers)
    resolver.timeout = base.timeout
    resolver.lifetime = base.lifetime
    resolver.use_search_by_default = False
    resolver.use_edns(0, dns.flags.DO, EDNS_PAYLOAD)
    resolver.flags = dns.flags.RD | dns.flags.AD | (dns.flags.CD if checking_disabled else 0)
    return resolver


async def _ask(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> _Reply:
    try:
        async with asyncio.timeout(resolver.lifetime + resolver.timeout + 1.0):
            answer = await resolver.resolve(name, rdtype, search=False,
                                            raise_on_no_answer=False)
        message: dns.message.Message | None = answer.response
    except dns.resolver.NXDOMAIN as exc:
        message = next(iter(exc.responses().values()), None)
    except dns.resolver.NoNameservers as exc:
        return _Reply("servfail", error=server_errors(exc))
    except (dns.exception.Timeout, TimeoutError):
        return _Reply("timeout", error=f"{resolver.lifetime:g}")
    except dns.exception.DNSException as exc:
        return _Reply("error", error=exc.__class__.__name__)
    if message is None:
        return _Reply("error", error="NoResponse")
    signatures = tuple(rdata for rrset in (*message.answer, *message.authority)
                       if rrset.rdtype == dns.rdatatype.RRSIG for rdata in rrset)
    types = frozenset(int(rrset.rdtype) for rrset in message.answer)
    return _Reply("answer", bool(message.flags & dns.flags.AD), signatures, types)


async def run(ctx: CheckContext) -> CheckResult | None:
    domain = ctx.plan.domain
    resolver = _dnssec_resolver(ctx.resolver)
    label = resolver_name(resolver)
    root, reply = await asyncio.gather(_ask(resolver, ".", "DNSKEY"), _ask(resolver, domain, "MX"))
    validates = root.status == "answer" and root.ad
    details: dict[str, Any] = {"resolver": label, "resolver_validates": validates,
                               "resolver_passes_signatures": root.signed,
                               "signed": reply.signed, "validated": reply.ad,
                               "signer": reply.signer, "query": f"{domain} MX"}
    params = {"domain": domain, "resolver": label}

    def result(code: str, **extra: Any) -> CheckResult:
        return CheckResult("dnssec", Problem(code, {**params, **extra}), details=details)

    if reply.status == "servfail" and validates:
        unchecked = await _ask(_dnssec_resolver(ctx.resolver, checking_disabled=True),
                               domain, "MX")
        details["answer_with_checking_disabled"] = unchecked.status == "answer"
        if unchecked.status == "answer":
            details["signed"] = unchecked.signed
            return result("dnssec_bogus")
    if reply.status == "servfail":
        return result("dnssec_servfail", error=reply.error)
    if reply.status == "timeout":
        return result("dnssec_timeout", seconds=reply.error)
    if reply.status != "answer":
        return result("dnssec_lookup_failed", error=reply.error)
    if reply.ad:
        return result("dnssec_validated")
    if validates and reply.signed:
        zone = reply.signer or domain
        ds = await _ask(resolver, zone, "DS")
        has_ds = dns.rdatatype.DS in ds.types
        details["zone"], details["ds_at_parent"] = zone, has_ds
        return result("dnssec_insecure" if has_ds else "dnssec_no_ds", zone=zone)
    if validates or (reply.status == "answer" and root.signed and not reply.signed):
        return result("dnssec_unsigned")
    if reply.signed:
        return result("dnssec_signed_unvalidated")
    return result("dnssec_cannot_tell")


CHECK = Check("dnssec", "domain", run)
