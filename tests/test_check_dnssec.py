"""The `dnssec` check, over zones dnspython really signs (tests/dnssec.py).

Three kinds of server stand in front of the same signed data: a private
Unbound (tests/unbound.py), the real validating resolver; the loopback DNS
server in its validating-resolver role (it checks the signatures up the DS
chain to the root key, sets AD, answers SERVFAIL for bogus data unless CD
is set), which also lets single answers be broken on purpose; and the same
server as a plain authoritative server, which hands out RRSIGs but never
validates -- the "cannot tell" side of the check.
"""

from __future__ import annotations

import json

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from probe.core import checks
from probe.core.checks.base import CheckContext
from probe.core.mx import Discovery, build_resolver
from probe.core.plan import build_plan
from tests import dnsserver
from tests.checkrun import run_check
from tests.dnssec import sign
from tests.smtpserver import Scripted, dialog
from tests.unbound import running

dns_server = dnsserver.dns_server

RECORDS = """
good.test. MX 10 mx.good.test.
mx.good.test. A 127.0.0.2
nomx.good.test. A 127.0.0.3
plain.test. MX 10 mx.plain.test.
island.test. MX 10 mx.island.test.
broken.test. MX 10 mx.broken.test.
"""
MODES = {"test.": "signed", "good.test.": "signed", "plain.test.": "unsigned",
         "island.test.": "no_ds", "broken.test.": "expired"}


@pytest.fixture(scope="module")
def signed():
    return sign(RECORDS, MODES)


@pytest.fixture(scope="module")
def unbound(signed):
    """A real validating resolver (Unbound) over the same signed zones."""
    with running(signed) as server:
        yield server


@pytest.fixture
def validating(dns_server, signed):
    return dns_server(signed.records, validate_with=signed.anchor)


@pytest.fixture
def authoritative(dns_server, signed):
    return dns_server(signed.records)


@pytest.mark.parametrize("resolver", ["unbound", "validating"])
@pytest.mark.parametrize(("domain", "status", "code"), [
    ("good.test", "pass", "dnssec_validated"),
    ("nomx.good.test", "pass", "dnssec_validated"),  # a validated "no MX" (NODATA)
    ("plain.test", "none", "dnssec_unsigned"),
    ("island.test", "warn", "dnssec_no_ds"),
    ("broken.test", "fail", "dnssec_bogus"),
])
async def test_verdicts_from_a_validating_resolver(request, resolver, domain, status, code):
    """The real Unbound and the loopback server's validating role give the same verdicts."""
    server = request.getfixturevalue(resolver)
    result = await run_check("dnssec", domain, server)
    assert (result.status, result.headline.code) == (status, code)
    assert result.details["resolver_validates"] is True
    if status in ("pass", "fail"):  # the verdict rests on what this resolver said: name it
        assert str(server.port) in result.headline.text().message


async def test_probe_through_unbound_reports_a_validated_domain(unbound, run_cli):
    async with Scripted(dialog(), host="127.0.0.2") as smtp:
        result = await run_cli("good.test", "--nameserver", unbound.nameserver_arg, "--port",
                               str(smtp.port), "--helo", "probe.test", "--checks", "dnssec",
                               "--json")
    (check,) = json.loads(result.out)["checks"]
    assert (check["status"], check["code"]) == ("pass", "dnssec_validated")
    assert check["details"]["signer"] == "good.test"
    assert result.code == 0


async def test_bogus_is_confirmed_with_checking_disabled(validating):
    result = await run_check("dnssec", "broken.test", validating)
    assert result.details["answer_with_checking_disabled"] is True
    assert validating.asked("broken.test.", "MX") == 2  # as asked, then with CD


async def test_island_names_the_zone_missing_its_ds(validating):
    result = await run_check("dnssec", "island.test", validating)
    assert result.details["zone"] == "island.test"
    assert result.details["ds_at_parent"] is False
    assert validating.asked("island.test.", "DS") == 1


@pytest.mark.parametrize(("domain", "status", "code"), [
    ("good.test", "error", "dnssec_signed_unvalidated"),
    ("broken.test", "error", "dnssec_signed_unvalidated"),  # no validator: cannot tell
    ("plain.test", "none", "dnssec_unsigned"),  # the root was signed, this is not
])
async def test_a_resolver_that_does_not_validate_cannot_give_a_verdict(authoritative, domain,
                                                                       status, code):
    result = await run_check("dnssec", domain, authoritative)
    assert (result.status, result.headline.code) == (status, code)
    assert result.details["resolver_validates"] is False


async def test_no_signatures_anywhere_is_cannot_tell(dns_server):
    server = dns_server(RECORDS)
    result = await run_check("dnssec", "good.test", server)
    assert (result.status, result.headline.code) == ("error", "dnssec_cannot_tell")
    assert "cannot tell" in result.headline.text().message


async def test_servfail_that_checking_disabled_does_not_cure_is_a_dns_error(dns_server, signed):
    server = dns_server(signed.records, validate_with=signed.anchor,
                        overrides={("good.test.", "MX"): "servfail"})
    result = await run_check("dnssec", "good.test", server)
    assert (result.status, result.headline.code) == ("error", "dnssec_servfail")


async def test_a_silent_resolver_is_a_timeout_not_a_hang(dns_server, signed):
    server = dns_server(signed.records, overrides={("good.test.", "MX"): "drop"})
    result = await run_check("dnssec", "good.test", server, lifetime=1.0)
    assert (result.status, result.headline.code) == ("error", "dnssec_timeout")


async def test_the_shared_resolver_is_left_as_it_was(validating):
    (check,) = checks.load(["dnssec"])
    resolver = build_resolver([validating.address], timeout=0.5, lifetime=1.5)
    before = (resolver.edns, resolver.ednsflags, resolver.flags)
    await check.run(CheckContext(build_plan("good.test"), resolver, Discovery("mx", (), ())))
    assert (resolver.edns, resolver.ednsflags, resolver.flags) == before


def test_the_validating_server_behaves_like_a_validating_resolver(validating):
    def ask(name: str, *, cd: bool = False) -> dns.message.Message:
        query = dns.message.make_query(name, "MX", want_dnssec=True)
        if cd:
            query.flags |= dns.flags.CD
        return dns.query.udp(query, validating.host, port=validating.port, timeout=2)

    good, bogus, unchecked = ask("good.test."), ask("broken.test."), ask("broken.test.", cd=True)
    assert good.flags & dns.flags.AD and any(r.rdtype == 46 for r in good.answer)  # RRSIG
    assert bogus.rcode() == dns.rcode.SERVFAIL and not bogus.answer
    assert unchecked.rcode() == dns.rcode.NOERROR and unchecked.answer
    assert not unchecked.flags & dns.flags.AD
