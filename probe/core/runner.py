"""probe(plan) -> a stream of events: DNS first, then every session and check at once.

Sessions run concurrently but bounded by a `Limits` object (a few connections
at once, one at a time per address) so a probe never looks like a flood; a
batch passes one shared `Limits` so politeness holds across targets. Health
checks run beside the sessions, each under its own deadline, and one failing
check never blocks or fails another. The whole run has a budget; each
session has its own inside `Session.run`. Views consume the async iterator
and never touch sockets or DNS themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import dns.asyncresolver

from knowledge import explain_error

from . import checks as check_registry
from . import mx
from .checks.base import Check, CheckContext, SessionResult
from .events import (
    CheckDone,
    CheckResult,
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
    Problem,
    RetryScheduled,
    Step,
    StepDone,
    StepError,
)
from .limits import Limits
from .plan import Plan
from .session import Session
from .transport import Connector, connector_for
from .verdict import exit_code, host_outcome, worst

Emit = Callable[[Event], None]


async def run_probe(plan: Plan, *, resolver: dns.asyncresolver.Resolver | None = None,
                    limits: Limits | None = None,
                    connector: Connector | None = None) -> AsyncIterator[Event]:
    """Probe every mail host of `plan`, yielding events as they happen.

    `limits` may be shared between runs (a batch); by default each run has
    its own. Closing the iterator early (a view quitting) cancels every
    session and check and closes every socket.
    """
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    probe = _Probe(plan, resolver, limits or Limits(), connector or connector_for(plan),
                   queue.put_nowait, lambda: queue.put_nowait(None))
    driver = asyncio.create_task(probe.drive())
    try:
        while (event := await queue.get()) is not None:
            yield event
        await driver
    finally:
        if not driver.done():
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver


async def probe_into(plan: Plan, emit: Emit, *,
                     resolver: dns.asyncresolver.Resolver | None = None,
                     limits: Limits | None = None, connector: Connector | None = None) -> None:
    """Probe every mail host of `plan`, handing each event to `emit` as it happens.

    The same run as `run_probe` without its queue and task: a batch of
    thousands of targets saves a context switch per event. `emit` must not
    block; cancelling the call cancels every session and check.
    """
    await _Probe(plan, resolver, limits or Limits(), connector or connector_for(plan), emit,
                 lambda: None).drive()


async def discover(plan: Plan, resolver: dns.asyncresolver.Resolver) -> mx.Discovery:
    """Where the plan's probe connects: the domain's MX hosts, or the hosts given with --mx.

    A cluster batch asks this too, ahead of the probe, to group targets by address.
    """
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


class _Probe:
    """One run: discovery, sessions, checks, and the verdict."""

    def __init__(self, plan: Plan, resolver: dns.asyncresolver.Resolver | None, limits: Limits,
                 connector: Connector, emit: Emit, end: Callable[[], None]) -> None:
        self.plan = plan
        self.resolver = resolver
        self.limits = limits
        self.connector = connector
        self.emit = emit
        self._end = end
        self.check_results: list[CheckResult] = []
        self.tasks: list[asyncio.Task[Any]] = []

    async def drive(self) -> None:
        plan = self.plan
        try:
            self.emit(ProbeStarted(plan.target, plan.domain, plan.domain_unicode, plan.rcpts,
                                   plan.mail_from, plan.helo))
            try:
                async with asyncio.timeout(plan.timeouts.run_budget
                                           + (plan.retry_greylist or 0.0)):
                    outcome = await self.probe()
            except TimeoutError:
                self.emit(FindingRaised(Finding("run_budget", {
                    "seconds": f"{plan.timeouts.run_budget:g}"})))
                outcome = "transient"
            finally:
                for task in self.tasks:
                    task.cancel()
            self.emit(ProbeDone(outcome, exit_code(outcome, self.check_results, plan.strict)))
        finally:
            self._end()

    async def probe(self) -> Outcome:
        plan = self.plan
        resolver = self.resolver or mx.build_resolver(plan.nameservers, plan.timeouts.dns,
                                                      plan.timeouts.dns_lifetime)
        discovery = await discover(plan, resolver)
        self.emit(MxResolved(discovery.source, discovery.records))
        for finding in discovery.findings:
            self.emit(FindingRaised(finding))
        # Hosts typed with --mx are usually a lab or a host under repair: their
        # domain's policy records are only checked when asked for by name.
        wanted = plan.checks if discovery.source != "override" or plan.checks_named else ()
        checks = check_registry.load(wanted)
        all_sessions: asyncio.Future[tuple[SessionResult, ...]] = (
            asyncio.get_running_loop().create_future())
        base = CheckContext(plan, resolver, discovery, _all_sessions=all_sessions)
        domain_checks = [self.spawn(self.check(c, base)) for c in checks
                         if c.scope == "domain" and plan.domain]
        if discovery.outcome is not None:
            all_sessions.set_result(())
            await asyncio.gather(*domain_checks)
            return discovery.outcome

        host_checks = [c for c in checks if c.scope == "host"]
        sessions: list[asyncio.Task[SessionResult | None]] = []
        outcomes: list[Outcome] = []
        for record in discovery.records:
            port = record.port or plan.port
            if not record.addresses:
                outcomes.append(self.dangling(record, port))
                continue
            for address in record.addresses:
                key = HostKey(record.host, address, port, record.preference)
                sessions.append(self.spawn(self.session(key, record.host, base, host_checks)))
        try:
            results = [r for r in await asyncio.gather(*sessions) if r is not None]
        except BaseException:
            all_sessions.cancel()
            raise
        all_sessions.set_result(tuple(results))
        outcomes.extend(r.outcome for r in results)
        self.port_blocked_hint(results)
        run_context = CheckContext(plan, resolver, discovery, sessions=tuple(results))
        await asyncio.gather(*domain_checks,
                             *(self.check(c, run_context) for c in checks if c.scope == "run"))
        return worst(outcomes)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.append(task)
        return task

    async def session(self, key: HostKey, server_name: str, base: CheckContext,
                      host_checks: list[Check]) -> SessionResult:
        assert key.address is not None
        done: asyncio.Future[SessionResult] = asyncio.get_running_loop().create_future()
        checks: list[asyncio.Task[Any]] = []
        try:
            async with self.limits.slot(key.address):
                self.emit(HostStarted(key))
                # Not _all_sessions: a host check waiting for every session would deadlock.
                context = CheckContext(base.plan, base.resolver, base.discovery, key,
                                       server_name, _session=done)
                checks = [self.spawn(self.check(c, context)) for c in host_checks]
                session = Session(key, server_name, self.plan, self.emit, self.connector)
                steps = await session.run()
            if self.plan.retry_greylist and _greylisted(steps):
                steps += await self.retry(key, server_name, self.plan.retry_greylist)
        except BaseException:
            done.cancel()
            raise
        outcome = host_outcome(steps)
        result = SessionResult(key, server_name, tuple(steps), session.tls, outcome)
        done.set_result(result)
        await asyncio.gather(*checks)
        self.emit(HostDone(key, outcome))
        return result

    async def retry(self, key: HostKey, server_name: str, seconds: float) -> list[Step]:
        """Wait (without holding a connection slot) and run the session once more."""
        assert key.address is not None
        self.emit(RetryScheduled(key, seconds))
        await asyncio.sleep(seconds)
        async with self.limits.slot(key.address):
            session = Session(key, server_name, self.plan, self.emit, self.connector,
                              attempt=2)
            steps = await session.run()
        accepted = not _greylisted(steps) and host_outcome(steps) == "ok"
        self.emit(FindingRaised(Finding(
            "greylisting_confirmed" if accepted else "still_deferred",
            {"seconds": f"{seconds:g}"}, key)))
        return steps

    async def check(self, check: Check, context: CheckContext) -> None:
        """Run one check under its deadline; any failure is that check's `error` result."""
        seconds = self.plan.timeouts.check
        params = {"check": check.name, "seconds": f"{seconds:g}"}
        try:
            async with asyncio.timeout(seconds) as deadline:
                result = await check.run(dataclasses.replace(context, _deadline=deadline))
        except TimeoutError:
            result = CheckResult(check.name, Problem("check_timeout", params), host=context.key)
        except Exception as exc:  # a bug or an odd answer in one check must not sink the run
            result = CheckResult(check.name, Problem("check_failed", {
                **params, "error": f"{exc.__class__.__name__}: {exc}"}), host=context.key)
        if result is not None:
            self.check_results.append(result)
            self.emit(CheckDone(result))

    def dangling(self, record: MxRecord, port: int) -> Outcome:
        """An MX host without addresses still gets a row: the admin must see it."""
        key = HostKey(record.host, None, port, record.preference)
        self.emit(HostStarted(key))
        message = record.lookup_error or "no A or AAAA record"
        self.emit(StepDone(key, Step("connect", None, None, 0.0,
                                     explain_error("dns", "connect", self.plan.lang),
                                     StepError("dns", message))))
        self.emit(HostDone(key, "transient"))
        return "transient"

    def port_blocked_hint(self, results: list[SessionResult]) -> None:
        """Every connection timing out usually means the probing network filters the port.

        Refused connections are the hosts' own answer, so they never count; an
        unreachable address (typically IPv6 without a route) may sit beside the
        timeouts, but at least one attempt must have timed out.
        """
        kinds = [r.steps[0].error.kind if r.steps and r.steps[0].error else None
                 for r in results]
        if kinds and "timeout" in kinds and set(kinds) <= {"timeout", "unreachable"}:
            example = results[kinds.index("timeout")].key.address
            self.emit(FindingRaised(Finding("port_blocked", {"port": self.plan.port,
                                                             "example": example})))


def _greylisted(steps: list[Step]) -> bool:
    """A 4xx that the knowledge base reads as greylisting, at MAIL or RCPT."""
    return any(step.reply is not None and step.reply.code_class == 4
               and step.annotation is not None and step.annotation.category == "greylisted"
               and step.stage in ("mail", "rcpt") for step in steps)
