"""Run one real health check against the loopback DNS server, as the runner would."""

from __future__ import annotations

from typing import Protocol

from probe.core import checks
from probe.core.checks.base import CheckContext
from probe.core.events import CheckResult
from probe.core.mx import Discovery, build_resolver
from probe.core.plan import build_plan


class Server(Protocol):
    """A DNS server on loopback: the test DNS server, or a private Unbound."""

    @property
    def address(self) -> tuple[str, int]: ...


async def run_check(name: str, domain: str, server: Server, *,
                    lifetime: float = 1.5) -> CheckResult:
    """The result of the domain check `name` for `domain`, asking only `server`."""
    (check,) = checks.load([name])
    resolver = build_resolver([server.address], timeout=0.5, lifetime=lifetime)
    result = await check.run(CheckContext(build_plan(domain), resolver,
                                          Discovery("mx", (), ())))
    assert result is not None
    return result


async def assert_verdict(name: str, domain: str, server: Server, status: str,
                         code: str) -> CheckResult:
    """Run the check and insist on its status and headline code; the sentence is
    filled (every parameter present) and a verdict that is not `pass` has a fix."""
    result = await run_check(name, domain, server)
    assert (result.status, result.headline.code) == (status, code), \
        [p.code for p in result.problems]
    text = result.headline.text()
    assert text.message and (status in ("pass", "none", "error") or text.fix)
    return result
