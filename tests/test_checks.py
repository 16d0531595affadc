"""Health checks: the registry, the runner's isolation of each check, and `ptr`.

`ptr` runs against the loopback DNS server; the isolation tests add a check of
their own (one that raises, one that never returns) next to the real ones and
run the real runner against a scripted SMTP server.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from probe.core import checks
from probe.core.checks.base import Check, CheckContext
from probe.core.events import CheckDone, CheckResult, HostKey, Problem
from probe.core.mx import build_resolver
from probe.core.plan import InputError, build_plan
from probe.core.runner import run_probe
from tests import dnsserver
from tests.checkctx import host_context, session_of, step
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


def test_registry_names_checks_by_module_without_importing_them():
    assert "ptr" in checks.names()
    assert "base" not in checks.names()
    (ptr,) = checks.load(["ptr"])
    assert (ptr.name, ptr.scope) == ("ptr", "host")


def test_checks_option_is_validated():
    assert build_plan("x.test", checks="ptr").checks == ("ptr",)
    assert build_plan("x.test", no_checks=True).checks == ()
    assert build_plan("x.test").checks == checks.names()
    with pytest.raises(InputError, match="unknown check 'nope'"):
        build_plan("x.test", checks="ptr,nope")


async def test_unknown_check_is_a_usage_error_and_nothing_is_sent(run_cli):
    async with Scripted(dialog()) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--checks", "spf-ish", "--json")
    assert result.code == 64 and server.connections == 0
    assert "choose from" in result.err


async def _ptr(host: str, address: str, server, banner: bytes | None = None
               ) -> CheckResult | None:
    """Run `ptr` for one address; `banner` is the greeting its session got (None: none)."""
    (ptr,) = checks.load(["ptr"])
    resolver = build_resolver([server.address], timeout=0.5, lifetime=1.5)
    key = HostKey(host, address, 25, 10)
    steps = [step("banner", None, banner)] if banner is not None else []
    context = host_context(build_plan("good.test"), resolver, key, session_of(key, *steps))
    return await ptr.run(context)


@pytest.mark.parametrize(("host", "address", "code", "status"), [
    ("mx1.good.test", "127.0.0.2", "ptr_ok", "pass"),
    ("mx2.good.test", "127.0.0.3", "no_ptr", "warn"),
    ("mx3.good.test", "127.0.0.4", "ptr_not_confirmed", "warn"),
    ("mx4.good.test", "127.0.0.5", "ptr_differs", "pass"),
])
async def test_ptr_verdicts(dns_server, host, address, code, status):
    server = dns_server(ZONE)
    result = await _ptr(host, address, server)
    assert result is not None
    assert (result.headline.code, result.status) == (code, status)
    assert address in result.headline.text().message
    assert server.asked(f"{address.split('.')[-1]}.0.0.127.in-addr.arpa.", "PTR")


async def test_ptr_dns_failure_is_an_error_result_not_an_exception(dns_server):
    server = dns_server(ZONE, overrides={"3.0.0.127.in-addr.arpa.": "servfail"})
    result = await _ptr("mx2.good.test", "127.0.0.3", server)
    assert result is not None and result.status == "error"
    assert result.headline.code == "ptr_lookup_failed"


@pytest.mark.parametrize(("banner", "code", "status"), [
    (b"220 mx1.good.test ESMTP Postfix\r\n", "ptr_ok", "pass"),
    (b"220 MX1.Good.Test. ESMTP\r\n", "ptr_ok", "pass"),  # case and a final dot differ
    (b"220 [127.0.0.2] ESMTP\r\n", "ptr_ok", "pass"),  # an address literal: nothing to compare
    (b"220-mx1.good.test first\r\n220 second line\r\n", "ptr_ok", "pass"),
    (b"220 smtp.elsewhere.test ESMTP\r\n", "ptr_banner_mismatch", "warn"),
    (b"220 localhost ESMTP\r\n", "banner_no_name", "warn"),
    (b"220 ESMTP ready\r\n", "banner_no_name", "warn"),
    (b"220 \x1b]0;pwn\x07.good.test ESMTP\r\n", "banner_no_name", "warn"),
    (b"220 " + b"a" * 400 + b".test\r\n", "banner_no_name", "warn"),
    (b"554 5.7.1 go away\r\n", "ptr_ok", "pass"),  # no greeting: nothing to compare
])
async def test_ptr_against_the_banner_name(dns_server, banner, code, status):
    result = await _ptr("mx1.good.test", "127.0.0.2", dns_server(ZONE), banner)
    assert result is not None
    assert (result.headline.code, result.status) == (code, status)
    if code == "ptr_banner_mismatch":
        text = result.headline.text()
        assert "smtp.elsewhere.test" in text.message and "mx1.good.test" in text.message
        assert "myhostname = mx1.good.test" in text.fix


async def test_ptr_not_confirmed_and_banner_mismatch_are_both_reported(dns_server):
    result = await _ptr("mx3.good.test", "127.0.0.4", dns_server(ZONE),
                        b"220 mx3.good.test ESMTP\r\n")
    assert result is not None and result.status == "warn"
    assert [p.code for p in result.problems] == ["ptr_not_confirmed", "ptr_banner_mismatch"]
    assert result.details["banner_name"] == "mx3.good.test"


async def test_probe_reports_ptr_in_the_host_checks(dns_server, run_cli):
    async with Scripted(dialog(), host="127.0.0.3") as smtp:
        server = dns_server("good.test. MX 10 mx2.good.test.\n" + ZONE)
        result = await run_cli("good.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--json", "--helo", "probe.test")
    document = json.loads(result.out)
    (host,) = document["hosts"]
    (ptr,) = [c for c in host["checks"] if c["check"] == "ptr"]
    assert ptr["status"] == "warn" and ptr["code"] == "no_ptr"
    assert "127.0.0.3" in ptr["summary"] and ptr["fix"]
    assert result.code == 0  # a health check never changes the exit code by itself


async def test_plain_report_has_a_health_block(dns_server, run_cli):
    async with Scripted(dialog(), host="127.0.0.3") as smtp:
        server = dns_server("good.test. MX 10 mx2.good.test.\n" + ZONE)
        result = await run_cli("good.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--plain", "--helo", "probe.test",
                               "--checks", "ptr,mta_sts")
    health = result.out.split("\nHealth:\n", 1)[1]
    lines = [line.split()[:3] for line in health.splitlines() if line.startswith("  ") and
             not line.startswith("   ")]
    assert lines[0][0] == "mta_sts"  # domain checks first, then each host's
    assert ["ptr", "[127.0.0.3]", "warn"] in lines
    assert "-> Ask whoever controls the address block" in health


async def test_hosts_given_by_hand_are_checked_only_when_asked_by_name(dns_server, run_cli):
    server = dns_server(ZONE)
    greeting = b"220 mx1.good.test ESMTP\r\n"  # the PTR name of 127.0.0.2
    async with Scripted(dialog(greeting), host="127.0.0.2") as smtp:
        default = await run_cli("x.test", "--mx", smtp.mx, "--json", "--helo", "probe.test",
                                "--nameserver", server.nameserver_arg)
        named = await run_cli("x.test", "--mx", smtp.mx, "--json", "--helo", "probe.test",
                              "--nameserver", server.nameserver_arg, "--checks", "ptr")
    assert json.loads(default.out)["hosts"][0]["checks"] == []
    (ptr,) = json.loads(named.out)["hosts"][0]["checks"]
    assert (ptr["check"], ptr["code"]) == ("ptr", "ptr_differs")  # PTR mx1.good.test
    assert ptr["details"]["banner_name"] == "mx1.good.test"


def _extra_checks(monkeypatch, *extra: Check) -> None:
    """Run the real checks plus `extra` (test-only checks) in this process."""
    real = checks.load

    def load(selected):
        return [*real(selected), *extra]

    monkeypatch.setattr(checks, "load", load)


async def _raises(context: CheckContext) -> CheckResult | None:
    raise RuntimeError("boom")


async def _hangs(context: CheckContext) -> CheckResult | None:
    await asyncio.sleep(3600)
    return None


async def _fails(context: CheckContext) -> CheckResult | None:
    return CheckResult("failing", Problem("test_broken"))


async def _waits_for_session(context: CheckContext) -> CheckResult | None:
    session = await context.session()  # after a slow banner: no deadline while waiting
    code = "ptr_ok" if session.banner is not None else "no_ptr"
    return CheckResult("late", Problem(code, {"address": "a", "name": "n", "host": "h"}),
                       host=context.key)


def slow(seconds: float):
    """A server whose every reply after the greeting takes `seconds`."""

    async def script(reader, writer, server):
        writer.write(b"220 slow.test ESMTP\r\n")
        while line := await reader.readline():
            await asyncio.sleep(seconds)
            verb = line.split()[0].upper() if line.split() else b""
            writer.write(b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")
            await writer.drain()
            if verb == b"QUIT":
                return

    return script


async def test_a_raising_or_hanging_check_does_not_sink_the_others(monkeypatch):
    _extra_checks(monkeypatch, Check("raises", "domain", _raises),
                  Check("hangs", "domain", _hangs), Check("late", "host", _waits_for_session))

    async with Scripted(slow(0.4)) as server:  # the session outlasts the 1.2 s deadline
        plan = build_plan("x.test", mx=[server.mx], helo="probe.test", timeout=1.2)
        done = [e.result async for e in run_probe(plan) if isinstance(e, CheckDone)]
    by_name = {r.check: r for r in done}
    assert by_name["raises"].status == "error"
    assert "RuntimeError: boom" in by_name["raises"].headline.text().message
    assert by_name["hangs"].headline.code == "check_timeout"
    assert by_name["late"].headline.code == "ptr_ok"  # it saw the banner
    assert "QUIT" in server.commands()


async def test_strict_makes_a_failed_check_exit_3(monkeypatch, run_cli):
    import knowledge.findings

    monkeypatch.setitem(knowledge.findings.catalogue(), "test_broken",
                        {"status": "fail", "message": "broken on purpose"})
    _extra_checks(monkeypatch, Check("failing", "domain", _fails))
    async with Scripted(dialog()) as server:
        relaxed = await run_cli("x.test", "--mx", server.mx, "--json", "--helo", "probe.test")
        strict = await run_cli("x.test", "--mx", server.mx, "--json", "--helo", "probe.test",
                               "--strict")
    assert relaxed.code == 0 and strict.code == 3
    assert json.loads(strict.out)["exit_code"] == 3
    assert [c["status"] for c in json.loads(strict.out)["checks"]] == ["fail"]


async def _counts_sessions(context: CheckContext) -> CheckResult | None:
    sessions = await context.all_sessions()  # after every slow session: no deadline meanwhile
    banners = sum(1 for s in sessions if s.banner is not None)
    return CheckResult("counting", Problem("ptr_ok" if banners == 2 else "no_ptr", {
        "address": str(len(sessions)), "name": "n", "host": "h"}))


async def test_a_domain_check_can_wait_for_every_session(monkeypatch):
    _extra_checks(monkeypatch, Check("counting", "domain", _counts_sessions))

    # each session lasts longer than the 0.5 s check deadline
    async with Scripted(slow(0.3)) as one, Scripted(slow(0.3)) as two:
        plan = build_plan("x.test", mx=[one.mx, two.mx], helo="probe.test", timeout=0.5,
                          checks="ptr")
        done = [e.result async for e in run_probe(plan) if isinstance(e, CheckDone)]
    (counting,) = [r for r in done if r.check == "counting"]
    assert counting.headline.code == "ptr_ok"
    assert counting.headline.params["address"] == "2"
