"""RELIABILITY A9: many MX hosts with many addresses stay capped and bounded.

12 MX records of 6 addresses each (all on loopback): the probe takes the 10
most preferred hosts and 4 addresses of each, says so in findings, and never
holds more than 4 connections open at once (the etiquette cap).
"""

from __future__ import annotations

import asyncio
import json

from probe.core.limits import DEFAULT_SESSIONS as MAX_CONCURRENT_SESSIONS
from tests import dnsserver
from tests.smtpserver import Scripted, dialog

dns_server = dnsserver.dns_server

HOSTS, ADDRESSES = 12, 6


class Gauge:
    """Counts connections open at the same moment, across every server."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def wrap(self, script):
        async def counted(reader, writer, server):
            self.now += 1
            self.peak = max(self.peak, self.now)
            try:
                await asyncio.sleep(0.05)  # long enough for sessions to overlap
                await script(reader, writer, server)
            finally:
                self.now -= 1
        return counted


def address(host: int, n: int) -> str:
    return f"127.0.{host + 10}.{n + 1}"


async def test_many_mx_and_addresses_are_capped_announced_and_bounded(dns_server, run_cli):
    gauge = Gauge()
    probed = [address(h, n) for h in range(10) for n in range(4)]
    servers = [Scripted(gauge.wrap(dialog()), host=ip) for ip in probed]
    first = await servers[0].__aenter__()
    try:
        for server in servers[1:]:
            server.port = first.port
            await server.__aenter__()
        zone = [f"big.test. MX {10 * (h + 1)} mx{h}.big.test." for h in range(HOSTS)]
        zone += [f"mx{h}.big.test. A {address(h, n)}" for h in range(HOSTS)
                 for n in range(ADDRESSES)]
        server = dns_server("\n".join(zone) + "\n")
        result = await asyncio.wait_for(run_cli(
            "big.test", "--nameserver", server.nameserver_arg, "--port", str(first.port),
            "--json", "--helo", "probe.test", "--timeout", "5"), 120)
    finally:
        for smtp in servers:
            await smtp.__aexit__(None, None, None)
    document = json.loads(result.out)
    assert len(document["mx"]["records"]) == 10
    assert sorted(h["address"] for h in document["hosts"]) == sorted(probed)
    assert all(h["outcome"] == "ok" for h in document["hosts"]), result.out[:2000]
    codes = [f["code"] for f in document["findings"]]
    assert "mx_cap" in codes and codes.count("address_cap") == 10
    assert 1 < gauge.peak <= MAX_CONCURRENT_SESSIONS
    assert result.code == 0
