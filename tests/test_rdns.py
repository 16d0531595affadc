"""Reverse DNS findings (`probe.core.rdns`) against the loopback DNS server."""

from __future__ import annotations

import json

import pytest

from probe.core.events import HostKey
from probe.core.mx import build_resolver
from probe.core.rdns import check
from tests import dnsserver
from tests.smtpserver import Scripted, dialog

dns_server = dnsserver.dns_server

ZONE = """
mx1.good.test. A 127.0.0.2
2.0.0.127.in-addr.arpa. PTR mx1.good.test.
mx2.good.test. A 127.0.0.3
mx3.good.test. A 127.0.0.4
4.0.0.127.in-addr.arpa. PTR unrelated.other.test.
mx4.good.test. A 127.0.0.5
5.0.0.127.in-addr.arpa. PTR outbound.good.test.
outbound.good.test. A 127.0.0.5
"""


@pytest.mark.parametrize(("host", "address", "expected"), [
    ("mx1.good.test", "127.0.0.2", None),
    ("mx2.good.test", "127.0.0.3", "no_ptr"),
    ("mx3.good.test", "127.0.0.4", "ptr_not_confirmed"),
    ("mx4.good.test", "127.0.0.5", "ptr_differs"),
])
async def test_reverse_dns_findings(dns_server, host, address, expected):
    server = dns_server(ZONE)
    resolver = build_resolver([server.address], timeout=0.5, lifetime=1.5)
    findings = await check(resolver, HostKey(host, address, 25, 10))
    assert [f.code for f in findings] == ([expected] if expected else [])
    assert server.asked("2.0.0.127.in-addr.arpa." if address == "127.0.0.2"
                        else f"{address.split('.')[-1]}.0.0.127.in-addr.arpa.", "PTR")


async def test_dns_failure_is_reported_not_raised(dns_server):
    server = dns_server(ZONE, overrides={"3.0.0.127.in-addr.arpa.": "servfail"})
    resolver = build_resolver([server.address], timeout=0.5, lifetime=1.5)
    findings = await check(resolver, HostKey("mx2.good.test", "127.0.0.3", 25, 10))
    assert [f.code for f in findings] == ["ptr_lookup_failed"]


async def test_probe_reports_reverse_dns_for_hosts_found_in_dns(dns_server, run_cli):
    async with Scripted(dialog(), host="127.0.0.3") as smtp:
        server = dns_server("good.test. MX 10 mx2.good.test.\n" + ZONE)
        result = await run_cli("good.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--json", "--helo", "probe.test")
    document = json.loads(result.out)
    (host,) = document["hosts"]
    assert "no_ptr" in [f["code"] for f in host["findings"]]
    assert result.code == 0  # a finding, never an outcome


async def test_no_reverse_lookup_for_hosts_given_by_hand(run_cli):
    async with Scripted(dialog()) as smtp:
        result = await run_cli("x.test", "--mx", smtp.mx, "--json", "--helo", "probe.test")
    (host,) = json.loads(result.out)["hosts"]
    codes = [f["code"] for f in host["findings"]]
    assert codes and not [c for c in codes if "ptr" in c]
