"""What a health check is, and what it is given to look at.

A check is one module in `probe/core/checks/` that defines `CHECK`, a
`Check` with a name (the module's name), a scope and an async `run`:

* `domain` checks run once per probe, concurrently with the SMTP sessions
  (SPF, DMARC, MTA-STS...); they see the plan, the resolver and the MX set.
  One that must judge what the sessions saw (MTA-STS: does every MX present
  a certificate the policy accepts?) awaits `ctx.all_sessions()`.
* `host` checks run once per probed address, starting with its session
  (PTR, TLS, DANE...). DNS work can start at once; a check that needs what
  the session saw (the banner, the certificate chain) awaits
  `ctx.session()`, and its own deadline starts counting only then.
* `run` checks run once after every session ended and see all of them
  (cross-host comparisons).

`run` returns a `CheckResult` (or None when the check does not apply, e.g.
reverse DNS for a host typed with --mx). It may raise or overrun its
deadline: the runner turns that into an `error` result for this check only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import dns.asyncresolver

from ..events import CheckResult, HostKey, Outcome, Step, TlsInfo
from ..mx import Discovery
from ..plan import Plan

Scope = Literal["domain", "host", "run"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SessionResult:
    """What one session saw, for checks that judge it."""

    key: HostKey
    server_name: str
    steps: tuple[Step, ...]
    tls: TlsInfo | None
    outcome: Outcome

    @property
    def banner(self) -> Step | None:
        return next((s for s in self.steps if s.stage == "banner" and s.reply), None)


@dataclass
class CheckContext:
    """Everything a check may look at. Host fields are None for domain checks."""

    plan: Plan
    resolver: dns.asyncresolver.Resolver
    discovery: Discovery
    key: HostKey | None = None
    server_name: str | None = None
    sessions: Sequence[SessionResult] = ()
    _session: asyncio.Future[SessionResult] | None = None
    _all_sessions: asyncio.Future[tuple[SessionResult, ...]] | None = None
    _deadline: asyncio.Timeout | None = field(default=None, repr=False)

    async def session(self) -> SessionResult:
        """Wait for this host's session to end; the check's deadline restarts then."""
        if self._session is None:
            raise RuntimeError("only host checks have a session")
        return await self._outside_deadline(self._session)

    async def all_sessions(self) -> tuple[SessionResult, ...]:
        """For a domain check: wait until every session ended (none when no host was
        probed); the check's deadline restarts then."""
        if self._all_sessions is None:
            raise RuntimeError("only domain checks wait for all sessions")
        return await self._outside_deadline(self._all_sessions)

    async def _outside_deadline(self, future: asyncio.Future[_T]) -> _T:
        """Await what the sessions produce without counting it against the check:
        sessions have their own budget, and the deadline restarts when they end."""
        if self._deadline is not None:
            self._deadline.reschedule(None)
        result = await asyncio.shield(future)
        if self._deadline is not None:
            loop = asyncio.get_running_loop()
            self._deadline.reschedule(loop.time() + self.plan.timeouts.check)
        return result


Run = Callable[[CheckContext], Awaitable[CheckResult | None]]


@dataclass(frozen=True)
class Check:
    name: str
    scope: Scope
    run: Run
