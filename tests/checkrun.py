"""Run one real health check against the loopback DNS server, as the runner would."""

from __future__ import annotations

from probe.core import checks
from probe.core.checks.base import CheckContext
from probe.core.events import CheckResult
from probe.core.mx import Discovery, build_resolver
from probe.core.plan import build_plan
from tests.dnsserver import DnsServer


async def run_check(name: str, domain: str, server: DnsServer, *,
                    lifetime: float = 1.5) -> CheckResult:
    """The result of the domain check `name` for `domain`, asking only `server`."""
    (check,) = checks.load([name])
    resolver = build_resolver([server.address], timeout=0.5, lifetime=lifetime)
    result = await check.run(CheckContext(build_plan(domain), resolver,
                                          Discovery("mx", (), ())))
    assert result is not None
    return result
