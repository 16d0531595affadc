"""Contexts for running one health check directly, with a session that already ended.

End-to-end tests run checks through the real runner against real servers;
these helpers are for the many small verdicts in between (hostile banners,
every TLSA parameter) where a whole probe per case would only add time.
Replies are framed from raw bytes by the real framer, so a test's banner is
exactly what a server would have sent.
"""

from __future__ import annotations

import asyncio

import dns.asyncresolver

from probe.core.checks.base import CheckContext, SessionResult
from probe.core.events import HostKey, Outcome, Stage, Step, TlsInfo
from probe.core.mx import Discovery
from probe.core.plan import Plan
from probe.core.reply import frame


def step(stage: Stage, command: str | None, raw: bytes) -> Step:
    """A step whose reply is `raw`, framed as the session frames it."""
    (reply,) = frame(raw).replies
    return Step(stage, command, reply, 1.0)


def session_of(key: HostKey, *steps: Step, tls: TlsInfo | None = None,
               outcome: Outcome = "ok") -> SessionResult:
    return SessionResult(key, key.host, tuple(steps), tls, outcome)


def host_context(plan: Plan, resolver: dns.asyncresolver.Resolver, key: HostKey,
                 session: SessionResult | None = None,
                 discovery: Discovery | None = None) -> CheckContext:
    """The context a host check gets from the runner, its session already over."""
    done: asyncio.Future[SessionResult] = asyncio.get_running_loop().create_future()
    done.set_result(session or session_of(key))
    return CheckContext(plan, resolver, discovery or Discovery("mx", (), ()), key, key.host,
                        _session=done)
