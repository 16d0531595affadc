"""MX discovery the way RFC 5321 §5.1 and RFC 7505 describe it.

A real sender's view of where a domain's mail goes: MX records in preference
order, the implicit MX when there are none, the null MX that says "no mail
here", and the misconfigurations that make senders fail (dangling MX, MX to a
CNAME or to an IP literal). Every DNS failure becomes a typed outcome and a
plain-English finding; nothing here raises for a DNS answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rcode
import dns.resolver

from .events import Finding, MxRecord, MxSource, Outcome
from .plan import InputError, is_ip


@dataclass(frozen=True)
class Discovery:
    """What DNS said. `outcome` is None when there are hosts to probe."""

    source: MxSource
    records: tuple[MxRecord, ...]
    findings: tuple[Finding, ...]
    outcome: Outcome | None = None


def build_resolver(
    nameservers: Sequence[tuple[str, int]] | None, timeout: float = 3.0, lifetime: float = 10.0
) -> dns.asyncresolver.Resolver:
    """A private resolver: the given servers only (like `dig @IP`), else the system's.

    The module-level default resolver is never touched, and search domains are
    off so `intranet` is never quietly turned into `intranet.corp.example`.
    """
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise InputError(
                "no system DNS resolver is configured; give one with --nameserver IP"
            ) from None
    resolver.timeout = timeout
    resolver.lifetime = lifetime
    resolver.use_search_by_default = False
    return resolver


def resolver_name(resolver: dns.asyncresolver.Resolver) -> str:
    """Which servers a resolver asks ("10.0.0.53", "127.0.0.1:5300"), for messages that
    must say who answered: a wrong NXDOMAIN is often the resolver's, not the domain's."""
    shown = []
    for server in resolver.nameservers[:3]:
        address = getattr(server, "address", str(server))
        port = getattr(server, "port", 53)
        if port != 53:
            address = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        shown.append(address)
    return ", ".join(shown) or "no server"


def display_name(name: dns.name.Name) -> str:
    """The name as text; odd bytes stay in DNS escape form (\\027), never raw."""
    return name.to_text(omit_final_dot=True)


def unicode_name(name: dns.name.Name) -> str:
    try:
        return name.to_unicode(omit_final_dot=True)
    except (dns.name.IDNAException, UnicodeError, ValueError):
        return display_name(name)


class DnsFailure(Exception):
    """A DNS failure as a catalogue finding; `message` is its English sentence."""

    def __init__(self, outcome: Outcome, code: str, **params: Any) -> None:
        self.finding = Finding(code, params)
        super().__init__(self.finding.message)
        self.outcome = outcome
        self.message = self.finding.message


async def query(resolver: dns.asyncresolver.Resolver, name: dns.name.Name,
                 rdtype: str) -> dns.resolver.Answer | None:
    """Resolve one RRset. None means "no such record" (NoAnswer).

    NXDOMAIN propagates; every other failure becomes a DnsFailure carrying its
    outcome. An outer deadline covers dnspython's habit of overshooting its
    lifetime by about one try.
    """
    deadline = resolver.lifetime + resolver.timeout + 1.0
    try:
        async with asyncio.timeout(deadline):
            # No NoAnswer exception for an empty answer: building one (with its
            # message text) cost more than the lookup itself in a batch.
            answer = await resolver.resolve(name, rdtype, search=False,
                                            raise_on_no_answer=False)
        return answer if answer.rrset is not None else None
    except dns.resolver.NXDOMAIN:
        raise
    except dns.resolver.YXDOMAIN:
        raise DnsFailure("permanent", "dns_yxdomain", name=display_name(name)) from None
    except dns.resolver.NoNameservers as exc:
        raise DnsFailure("transient", "dns_servfail", name=display_name(name), rdtype=rdtype,
                       servers=server_errors(exc)) from None
    except (dns.exception.Timeout, TimeoutError):
        raise DnsFailure("transient", "dns_timeout", name=display_name(name), rdtype=rdtype,
                       seconds=f"{resolver.lifetime:g}", resolver=resolver_name(resolver)
                       ) from None
    except dns.exception.DNSException as exc:
        raise DnsFailure("transient", "dns_error", name=display_name(name), rdtype=rdtype,
                       error=exc.__class__.__name__, resolver=resolver_name(resolver)) from None


def server_errors(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    parts = []
    for error in errors[:4]:
        server, _tcp, _port, err, answer = (list(error) + [None] * 5)[:5]
        rcode = ""
        if answer is not None and hasattr(answer, "rcode"):
            rcode = dns.rcode.to_text(answer.rcode())
        parts.append(f"{server} {rcode or err}".strip())
    return "; ".join(parts) or "no server answered"


def _address_order(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


async def _addresses(
    resolver: dns.asyncresolver.Resolver, host: dns.name.Name, max_addresses: int,
) -> tuple[tuple[str, ...], str | None, str | None, bool, bool]:
    """A then AAAA of one host: (addresses, CNAME target, error, capped, error_is_transient)."""
    alias: str | None = None
    found: list[str] = []
    errors: list[str] = []
    results = await asyncio.gather(
        *(query(resolver, host, rdtype) for rdtype in ("A", "AAAA")), return_exceptions=True
    )
    for result in results:
        if isinstance(result, dns.resolver.NXDOMAIN):
            errors.append("the name does not exist (NXDOMAIN)")
        elif isinstance(result, DnsFailure):
            errors.append(result.message)
        elif isinstance(result, BaseException):
            raise result
        elif result is not None:
            if result.canonical_name != host:
                alias = display_name(result.canonical_name)
            found.extend(rdata.to_text() for rdata in result)
    # Sorted, so which addresses survive the cap does not depend on DNS order.
    unique = tuple(sorted(set(found), key=_address_order))
    error = None if unique else ("; ".join(dict.fromkeys(errors)) or "no A or AAAA record")
    transient = any(isinstance(r, DnsFailure) and r.outcome == "transient" for r in results)
    return unique[:max_addresses], alias, error, len(unique) > max_addresses, transient


async def _records_for(resolver: dns.asyncresolver.Resolver,
                       hosts: list[tuple[int | None, dns.name.Name]],
                       max_addresses: int) -> tuple[list[MxRecord], list[Finding]]:
    findings: list[Finding] = []
    looked_up = await asyncio.gather(*(_addresses(resolver, name, max_addresses)
                                       for _, name in hosts))
    records = []
    for (preference, name), found in zip(hosts, looked_up, strict=True):
        addresses, alias, error, capped, transient = found
        shown = display_name(name)
        if alias:
            findings.append(Finding("mx_cname", {"host": shown, "target": alias}))
        if error and transient:
            findings.append(Finding("mx_lookup_failed", {"host": shown, "error": error}))
        elif error:
            findings.append(Finding("dangling_mx", {"host": shown, "error": error}))
        if capped:
            findings.append(Finding("address_cap", {"host": shown, "max": max_addresses}))
        records.append(MxRecord(preference, shown, addresses, unicode_name(name), error))
    return records, findings


async def discover(domain: str, resolver: dns.asyncresolver.Resolver, *,
                   max_hosts: int = 10, max_addresses: int = 4) -> Discovery:
    """Find where mail for `domain` (A-label form) goes."""
    name = dns.name.from_text(domain)
    shown = display_name(name)
    try:
        answer = await query(resolver, name, "MX")
    except dns.resolver.NXDOMAIN:
        return Discovery("none", (), (Finding("nxdomain", {
            "domain": shown, "resolver": resolver_name(resolver)}),), "permanent")
    except DnsFailure as failure:
        return Discovery("none", (), (failure.finding,), failure.outcome)

    findings: list[Finding] = []
    if answer is None:
        return await _implicit(resolver, name, max_addresses)

    if answer.canonical_name != name:
        findings.append(Finding("domain_cname", {
            "domain": shown, "target": display_name(answer.canonical_name)}))
    # One host listed at two preferences is probed once, at the better one.
    best: dict[dns.name.Name, int] = {}
    for rdata in answer:
        best[rdata.exchange] = min(rdata.preference, best.get(rdata.exchange, rdata.preference))
    mx = sorted(((preference, exchange) for exchange, preference in best.items()),
                key=lambda item: (item[0], item[1].to_text().lower()))
    null = [item for item in mx if item[1] == dns.name.root]
    real = [item for item in mx if item[1] != dns.name.root]
    if null and not real:
        return Discovery("null", (MxRecord(null[0][0], ".", ()),),
                         (Finding("null_mx", {"domain": shown}),), "permanent")
    if null:
        findings.append(Finding("null_mx_mixed", {"domain": shown}))
    for _, exchange in real:
        host_text = display_name(exchange)
        if is_ip(host_text):
            findings.append(Finding("mx_ip_literal", {"host": host_text}))
    if len(real) > max_hosts:
        findings.append(Finding("mx_cap", {"domain": shown, "count": len(real),
                                           "max": max_hosts}))
        real = real[:max_hosts]
    records, host_findings = await _records_for(resolver, list(real), max_addresses)
    findings.extend(host_findings)
    return Discovery("mx", tuple(records), tuple(findings))


async def _implicit(resolver: dns.asyncresolver.Resolver, name: dns.name.Name,
                    max_addresses: int) -> Discovery:
    """No MX: RFC 5321 §5.1 says the domain itself is the mail host (preference 0)."""
    shown = display_name(name)
    addresses, alias, error, capped, transient = await _addresses(resolver, name, max_addresses)
    if not addresses:
        return Discovery("none", (), (Finding("no_mail_host", {"domain": shown, "error": error}),),
                         "transient" if transient else "permanent")
    findings = [Finding("implicit_mx", {"domain": shown})]
    if capped:
        findings.append(Finding("address_cap", {"host": shown, "max": max_addresses}))
    if alias:
        findings.append(Finding("implicit_cname", {"domain": shown, "target": alias}))
    record = MxRecord(0, shown, addresses, unicode_name(name))
    return Discovery("implicit", (record,), tuple(findings))


async def resolve_override(resolver: dns.asyncresolver.Resolver | None, host: str, port: int,
                           max_addresses: int = 4,
                           timeout: float = 10.0) -> tuple[MxRecord, list[Finding]]:
    """A host given with --mx: an IP is used as is, a name is resolved.

    With --nameserver (a resolver), the name is resolved like an MX target.
    Without, it goes through the system's resolver library, /etc/hosts
    included, because `--mx localhost` or a lab name must work as typed.
    """
    if is_ip(host):
        return MxRecord(None, host, (host,), host, None, port), []
    if resolver is None:
        return await _system_lookup(host, port, max_addresses, timeout), []
    records, findings = await _records_for(resolver, [(None, dns.name.from_text(host))],
                                           max_addresses)
    record = records[0]
    return MxRecord(None, record.host, record.addresses, record.host_unicode,
                    record.lookup_error, port), findings


async def _system_lookup(host: str, port: int, max_addresses: int, timeout: float) -> MxRecord:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        return MxRecord(None, host, (), host, f"name lookup timed out after {timeout:g} s", port)
    except OSError as exc:
        return MxRecord(None, host, (), host, f"name lookup failed: {exc.strerror or exc}", port)
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return MxRecord(None, host, addresses[:max_addresses], host,
                    None if addresses else "no address", port)
