"""probe(plan) -> a stream of events: DNS first, then every session at once.

Sessions run concurrently but bounded (a few connections per run, one at a
time per IP address) so a probe never looks like a flood. The whole run has
a budget; each session has its own inside `Session.run`. Views consume the
async iterator and never touch sockets or DNS themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import dns.asyncresolver

from knowledge import explain_error

from . import mx, rdns
from .events import (
    Event,
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    HostStarted,
    MxRecord,
    MxResolved,
    Outcome,
    ProbeDone,
    ProbeStarted,
    Step,
    StepDone,
    StepError,
)
from .plan import Plan
from .session import Session
from .verdict import exit_code, host_outcome, worst

MAX_CONCURRENT_SESSIONS = 4

Emit = Callable[[Event], None]


async def run_probe(plan: Plan, *,
                    resolver: dns.asyncresolver.Resolver | None = None) -> AsyncIterator[Event]:
    """Probe every mail host of `plan`, yielding events as they happen.

    Closing the iterator early (a view quitting) cancels every session and
    closes its socket.
    """
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    driver = asyncio.create_task(_drive(plan, resolver, queue.put_nowait))
    try:
        while (event := await queue.get()) is not None:
            yield event
        await driver
    finally:
        if not driver.done():
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver


async def _drive(plan: Plan, resolver: dns.asyncresolver.Resolver | None, emit: Emit) -> None:
    try:
        emit(ProbeStarted(plan.target, plan.domain, plan.domain_unicode, plan.rcpts,
                          plan.mail_from, plan.helo))
        try:
            async with asyncio.timeout(plan.timeouts.run_budget):
                outcome = await _probe(plan, resolver, emit)
        except TimeoutError:
            emit(FindingRaised(Finding("error", f"the whole run exceeded its budget of "
                                       f"{plan.timeouts.run_budget:g} s", "run_budget")))
            outcome = "transient"
        emit(ProbeDone(outcome, exit_code(outcome)))
    finally:
        emit(None)  # type: ignore[arg-type]


async def _discover(plan: Plan, resolver: dns.asyncresolver.Resolver) -> mx.Discovery:
    if not plan.mx_override:
        return await mx.discover(plan.domain, resolver)
    records: list[MxRecord] = []
    findings: list[Finding] = []
    # Without --nameserver, names given with --mx go through the system's
    # resolver library (/etc/hosts included): see resolve_override.
    asked = resolver if plan.nameservers else None
    for host, port in plan.mx_override:
        record, found = await mx.resolve_override(asked, host, port,
                                                  timeout=plan.timeouts.dns_lifetime)
        records.append(record)
        findings.extend(found)
    return mx.Discovery("override", tuple(records), tuple(findings))


async def _probe(plan: Plan, resolver: dns.asyncresolver.Resolver | None, emit: Emit) -> Outcome:
    if resolver is None:
        resolver = mx.build_resolver(plan.nameservers, plan.timeouts.dns,
                                     plan.timeouts.dns_lifetime)
    discovery = await _discover(plan, resolver)
    # Reverse DNS is checked for hosts found through DNS only: an --mx given by
    # hand may be a lab box whose PTR nobody asked about (and tests stay offline).
    check_ptr = discovery.source in ("mx", "implicit")
    emit(MxResolved(discovery.source, discovery.records))
    for finding in discovery.findings:
        emit(FindingRaised(finding))
    if discovery.outcome is not None:
        return discovery.outcome

    limit = asyncio.Semaphore(MAX_CONCURRENT_SESSIONS)
    per_address: dict[str, asyncio.Lock] = {}
    outcomes: list[Outcome] = []
    sessions: list[Session] = []

    async def one(key: HostKey, server_name: str) -> None:
        lock = per_address.setdefault(key.address or "", asyncio.Lock())
        async with limit, lock:
            emit(HostStarted(key))
            ptr = asyncio.create_task(rdns.check(resolver, key)) if check_ptr else None
            session = Session(key, server_name, plan, emit)
            sessions.append(session)
            try:
                steps = await session.run()
                for finding in await ptr if ptr is not None else []:
                    emit(FindingRaised(finding))
            finally:
                if ptr is not None:
                    ptr.cancel()
            outcome = host_outcome(steps)
            outcomes.append(outcome)
            emit(HostDone(key, outcome))

    tasks = []
    for record in discovery.records:
        port = record.port or plan.port
        if not record.addresses:
            outcomes.append(_dangling(record, port, emit, plan.lang))
            continue
        for address in record.addresses:
            key = HostKey(record.host, address, port, record.preference)
            tasks.append(asyncio.create_task(one(key, record.host)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    _port_blocked_hint(sessions, plan.port, emit)
    return worst(outcomes)


def _dangling(record: MxRecord, port: int, emit: Emit, lang: str) -> Outcome:
    """An MX host without addresses still gets a row: the admin must see it."""
    key = HostKey(record.host, None, port, record.preference)
    emit(HostStarted(key))
    message = record.lookup_error or "no A or AAAA record"
    emit(StepDone(key, Step("connect", None, None, 0.0, explain_error("dns", "connect", lang),
                            StepError("dns", message))))
    emit(HostDone(key, "transient"))
    return "transient"


def _port_blocked_hint(sessions: list[Session], port: int, emit: Emit) -> None:
    """Every connection timing out usually means the probing network filters the port."""
    connects = [s.steps[0] for s in sessions if s.steps and s.steps[0].stage == "connect"]
    if connects and len(connects) == len(sessions) and all(
            step.error is not None and step.error.kind in ("timeout", "unreachable")
            for step in connects):
        emit(FindingRaised(Finding(
            "warning", f"no mail host answered on TCP port {port} at all. If the hosts work "
            "for others, the network you are probing from (ISP, cloud provider, firewall) "
            f"probably blocks outbound port {port}; try from another network",
            "port_blocked")))
