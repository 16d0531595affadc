"""MX discovery (`probe.core.mx`) against a real DNS server on loopback.

Each case is a zone served by `tests.dnsserver`, asked through the real
`dns.asyncresolver` path that `build_resolver` configures -- the same path the
CLI takes with `--nameserver`. Besides what `discover` returns, several tests
read the server's query log: "no address lookup for a null MX" or "only the
ten most preferred hosts were resolved" are facts about the wire, not about
the return value.
"""

from __future__ import annotations

import asyncio

import dns.asyncresolver
import dns.nameserver
import dns.resolver
import pytest

from probe.core.mx import Discovery, build_resolver, discover
from tests import dnsserver
from tests.dnsserver import DnsServer

dns_server = dnsserver.dns_server

# Generous safety net so a hung resolver fails the test instead of the run.
# Not a performance threshold: discovery's own bound is lifetime + one try.
HANG_GUARD = 60.0


def make_resolver(server: DnsServer) -> dns.asyncresolver.Resolver:
    """Short timeouts: the failure cases must not slow the suite."""
    return build_resolver([server.address], timeout=0.5, lifetime=1.5)


async def run(server: DnsServer, domain: str, **kwargs: int) -> Discovery:
    return await asyncio.wait_for(
        discover(domain, make_resolver(server), **kwargs), timeout=HANG_GUARD
    )


def codes(d: Discovery) -> list[str]:
    return [f.code for f in d.findings]


def finding(d: Discovery, code: str):
    """The one finding with this code (fails the test if absent or repeated)."""
    found = [f for f in d.findings if f.code == code]
    assert len(found) == 1, f"want one {code!r} finding, got {d.findings!r}"
    return found[0]


def address_queries(server: DnsServer) -> list[tuple[str, str]]:
    return [(q.qname, q.qtype) for q in server.queries if q.qtype in ("A", "AAAA")]


# -- build_resolver -----------------------------------------------------------


def test_build_resolver_asks_only_the_given_servers() -> None:
    r = build_resolver([("127.0.0.1", 5353), ("::1", 53)], timeout=0.5, lifetime=1.5)
    servers = [(ns.address, ns.port) for ns in r.nameservers]
    assert servers == [("127.0.0.1", 5353), ("::1", 53)]
    assert all(isinstance(ns, dns.nameserver.Do53Nameserver) for ns in r.nameservers)
    assert (r.timeout, r.lifetime) == (0.5, 1.5)
    assert r.search == []  # configure=False: nothing read from resolv.conf
    assert r.use_search_by_default is False


def test_build_resolver_does_not_touch_the_default_resolver() -> None:
    # DESIGN.md: never mutate the module-level default resolver.
    before = dns.resolver.default_resolver
    servers = list(before.nameservers) if before is not None else None
    r = build_resolver([("127.0.0.1", 5353)])
    assert r is not before
    assert dns.resolver.default_resolver is before
    if before is not None:
        assert list(before.nameservers) == servers


# -- ordinary MX --------------------------------------------------------------

ORDER_ZONE = r"""
order.test.       MX 65535 last.order.test.
order.test.       MX 10    b.order.test.
order.test.       MX 0     first.order.test.
order.test.       MX 10    a.order.test.
order.test.       MX 10    c.order.test.
last.order.test.  A  127.0.0.5
b.order.test.     A  127.0.0.3
first.order.test. A  127.0.0.2
a.order.test.     A  127.0.0.4
c.order.test.     A  127.0.0.6
"""


async def test_records_sorted_by_preference_with_a_deterministic_tie_break(dns_server) -> None:
    srv = dns_server(ORDER_ZONE)
    d = await run(srv, "order.test")
    assert d.source == "mx"
    assert d.outcome is None
    got = [(r.preference, r.host, r.addresses) for r in d.records]
    assert got == [
        (0, "first.order.test", ("127.0.0.2",)),
        (10, "a.order.test", ("127.0.0.4",)),
        (10, "b.order.test", ("127.0.0.3",)),
        (10, "c.order.test", ("127.0.0.6",)),
        (65535, "last.order.test", ("127.0.0.5",)),
    ]
    # Same answer again (the server may reorder the RRset on the wire; we must not).
    again = await run(srv, "order.test")
    assert again.records == d.records
    assert not [f for f in d.findings if f.severity in ("warning", "error")]


async def test_trailing_dot_and_case_do_not_matter(dns_server) -> None:
    srv = dns_server(ORDER_ZONE)
    plain = await run(srv, "order.test")
    dotted = await run(srv, "ORDER.test.")
    # Hosts compare case-insensitively only: name compression on the wire points
    # the exchange's suffix at the question ("first.ORDER.test"), as real servers do.
    # The CLI lower-cases the domain before discovery (plan.normalize_domain).
    assert [r.host.lower() for r in dotted.records] == [r.host for r in plain.records]
    assert [r.addresses for r in dotted.records] == [r.addresses for r in plain.records]


async def test_ipv6_only_mx_host(dns_server) -> None:
    srv = dns_server(
        """
        v6.test.     MX   10 mx.v6.test.
        mx.v6.test.  AAAA ::1
        mx.v6.test.  AAAA 2001:db8::25
        """
    )
    d = await run(srv, "v6.test")
    assert d.source == "mx" and d.outcome is None
    (record,) = d.records
    assert sorted(record.addresses) == ["2001:db8::25", "::1"]
    assert record.lookup_error is None
    assert "dangling_mx" not in codes(d)


async def test_a_then_aaaa_addresses_of_a_dual_stack_host(dns_server) -> None:
    srv = dns_server(
        """
        dual.test.     MX   10 mx.dual.test.
        mx.dual.test.  A    127.0.0.2
        mx.dual.test.  AAAA ::1
        """
    )
    d = await run(srv, "dual.test")
    assert d.records[0].addresses == ("127.0.0.2", "::1")


# -- implicit MX, none, null --------------------------------------------------


async def test_implicit_mx_uses_the_domains_own_a_then_aaaa(dns_server) -> None:
    srv = dns_server(
        """
        implicit.test. A    127.0.0.2
        implicit.test. AAAA ::1
        implicit.test. TXT  "no mx here"
        """
    )
    d = await run(srv, "implicit.test")
    assert d.source == "implicit"
    assert d.outcome is None
    (record,) = d.records
    assert (record.preference, record.host) == (0, "implicit.test")
    assert record.addresses == ("127.0.0.2", "::1")
    assert "RFC 5321" in finding(d, "implicit_mx").message
    assert srv.asked("implicit.test.", "MX") == 1


async def test_no_mx_and_no_address_is_permanent(dns_server) -> None:
    srv = dns_server('nomail.test. TXT "v=spf1 -all"')
    d = await run(srv, "nomail.test")
    assert d.source == "none"
    assert d.outcome == "permanent"
    assert d.records == ()
    assert finding(d, "no_mail_host").severity == "error"


async def test_null_mx_is_permanent_and_no_address_is_looked_up(dns_server) -> None:
    srv = dns_server(
        """
        null.test. MX 0 .
        null.test. A  127.0.0.2
        """
    )
    d = await run(srv, "null.test")
    assert d.source == "null"
    assert d.outcome == "permanent"
    assert all(r.addresses == () for r in d.records)
    f = finding(d, "null_mx")
    assert "RFC 7505" in f.message
    assert address_queries(srv) == []
    assert [(q.qname, q.qtype) for q in srv.queries] == [("null.test.", "MX")]


async def test_null_mx_mixed_with_a_real_mx_is_flagged_and_the_real_one_kept(dns_server) -> None:
    srv = dns_server(
        """
        mixed.test.    MX 0  .
        mixed.test.    MX 10 mx.mixed.test.
        mx.mixed.test. A  127.0.0.2
        """
    )
    d = await run(srv, "mixed.test")
    assert d.source == "mx"
    assert d.outcome is None
    assert [(r.preference, r.host, r.addresses) for r in d.records] == [
        (10, "mx.mixed.test", ("127.0.0.2",))
    ]
    f = finding(d, "null_mx_mixed")
    assert f.severity == "warning"
    assert "RFC 7505" in f.message


# -- failures -----------------------------------------------------------------


async def test_nxdomain_is_permanent_and_says_does_not_exist(dns_server) -> None:
    srv = dns_server("other.test. A 127.0.0.2")
    d = await run(srv, "missing.test")
    assert d.outcome == "permanent"
    assert d.records == ()
    assert "does not exist" in finding(d, "nxdomain").message
    assert address_queries(srv) == []


@pytest.mark.parametrize("action", ["servfail", "refused"])
async def test_servfail_and_refused_are_transient_with_detail(dns_server, action) -> None:
    srv = dns_server("broken.test. MX 10 mx.broken.test.", overrides={"broken.test.": action})
    d = await run(srv, "broken.test")
    assert d.outcome == "transient"
    assert d.records == ()
    f = finding(d, "dns_servfail")
    assert action.upper() in f.message  # the per-server rcode detail
    assert "127.0.0.1" in f.message


async def test_dropped_queries_are_transient_and_bounded(dns_server) -> None:
    srv = dns_server("slow.test. MX 10 mx.slow.test.", overrides={"slow.test.": "drop"})
    d = await run(srv, "slow.test")  # returns (the hang guard would fail the test)
    assert d.outcome == "transient"
    message = finding(d, "dns_timeout").message
    assert "timed out" in message
    assert "1.5 s" in message  # the time is stated
    assert srv.asked("slow.test.", "MX") >= 1


async def test_yxdomain_gets_a_clear_message(dns_server) -> None:
    srv = dns_server("yx.test. MX 10 mx.yx.test.", overrides={"yx.test.": "yxdomain"})
    d = await run(srv, "yx.test")
    assert d.outcome is not None
    assert "YXDOMAIN" in finding(d, "dns_yxdomain").message


async def test_implicit_mx_lookup_failure_is_transient(dns_server) -> None:
    srv = dns_server(
        'flaky.test. TXT "no mx"',
        overrides={("flaky.test.", "A"): "servfail", ("flaky.test.", "AAAA"): "servfail"},
    )
    d = await run(srv, "flaky.test")
    assert d.outcome == "transient"


# -- misconfigured MX targets -------------------------------------------------


async def test_mx_to_a_cname_is_flagged_and_still_has_addresses(dns_server) -> None:
    srv = dns_server(
        """
        cname.test.      MX    10 alias.cname.test.
        alias.cname.test. CNAME real.cname.test.
        real.cname.test. A     127.0.0.2
        """
    )
    d = await run(srv, "cname.test")
    assert d.outcome is None
    (record,) = d.records
    assert record.host == "alias.cname.test"
    assert record.addresses == ("127.0.0.2",)
    f = finding(d, "mx_cname")
    assert "alias.cname.test" in f.message and "real.cname.test" in f.message
    assert "2181" in f.message


async def test_mx_to_an_ip_literal_is_flagged(dns_server) -> None:
    srv = dns_server("ip.test. MX 10 192.0.2.1.")
    d = await run(srv, "ip.test")
    assert [r.host for r in d.records] == ["192.0.2.1"]
    f = finding(d, "mx_ip_literal")
    assert f.severity == "warning"
    assert "192.0.2.1" in f.message
    # It is looked up as a name, as a real sender would; it has no address.
    assert d.records[0].addresses == ()


async def test_dangling_mx_is_flagged_and_listed_without_addresses(dns_server) -> None:
    srv = dns_server(
        """
        dangle.test.      MX  10 gone.dangle.test.
        dangle.test.      MX  20 noaddr.dangle.test.
        dangle.test.      MX  30 ok.dangle.test.
        noaddr.dangle.test. TXT "exists, no address"
        ok.dangle.test.   A   127.0.0.2
        """
    )
    d = await run(srv, "dangle.test")
    assert d.source == "mx"
    by_host = {r.host: r for r in d.records}
    assert list(by_host) == ["gone.dangle.test", "noaddr.dangle.test", "ok.dangle.test"]
    assert by_host["gone.dangle.test"].addresses == ()
    assert "NXDOMAIN" in (by_host["gone.dangle.test"].lookup_error or "")
    assert by_host["noaddr.dangle.test"].addresses == ()
    assert by_host["noaddr.dangle.test"].lookup_error
    assert by_host["ok.dangle.test"].addresses == ("127.0.0.2",)
    dangling = [f for f in d.findings if f.code == "dangling_mx"]
    assert len(dangling) == 2
    assert any("gone.dangle.test" in f.message for f in dangling)
    assert any("noaddr.dangle.test" in f.message for f in dangling)


async def test_every_mx_dangling_still_lists_the_hosts(dns_server) -> None:
    srv = dns_server("alldead.test. MX 10 gone.alldead.test.")
    d = await run(srv, "alldead.test")
    assert [(r.host, r.addresses) for r in d.records] == [("gone.alldead.test", ())]
    assert "dangling_mx" in codes(d)


# -- names --------------------------------------------------------------------

IDN_ZONE = """
xn--bcher-kva.test.    MX 10 mx.xn--bcher-kva.test.
mx.xn--bcher-kva.test. A  127.0.0.2
"""


@pytest.mark.parametrize("domain", ["xn--bcher-kva.test", "bücher.test"])
async def test_idn_domain(dns_server, domain) -> None:
    srv = dns_server(IDN_ZONE)
    d = await run(srv, domain)
    (record,) = d.records
    assert record.host == "mx.xn--bcher-kva.test"
    assert record.host_unicode == "mx.bücher.test"
    assert record.addresses == ("127.0.0.2",)
    assert srv.asked("xn--bcher-kva.test.", "MX") == 1


async def test_bad_a_label_falls_back_to_the_escaped_text(dns_server) -> None:
    # "xn--zz-" does not decode to a U-label; to_unicode() raises on it.
    srv = dns_server(
        """
        badidn.test.          MX 10 xn--zz-.badidn.test.
        xn--zz-.badidn.test.  A  127.0.0.2
        """
    )
    d = await run(srv, "badidn.test")
    (record,) = d.records
    assert record.host == "xn--zz-.badidn.test"
    assert record.host_unicode == "xn--zz-.badidn.test"
    assert record.addresses == ("127.0.0.2",)


async def test_hostile_label_stays_escaped_everywhere(dns_server) -> None:
    srv = dns_server(r"evil.test. MX 10 \027]0\;PWN\007.evil.test.")
    d = await run(srv, "evil.test")
    (record,) = d.records
    assert record.host == r"\027]0\;PWN\007.evil.test"
    texts = [record.host, record.host_unicode, record.lookup_error or ""]
    texts += [f.message for f in d.findings]
    for text in texts:
        assert "\x1b" not in text and "\x07" not in text, text
    # The lookup went out with the real bytes (the server saw the escaped name).
    assert srv.asked(r"\027]0\;PWN\007.evil.test.", "A") == 1


# -- caps ---------------------------------------------------------------------


async def test_fifty_mx_records_are_capped_and_the_cap_announced(dns_server) -> None:
    records = [("many.test.", "MX", f"{i + 1} mx{i:02d}.many.test.") for i in range(50)]
    records += [(f"mx{i:02d}.many.test.", "A", f"127.0.1.{i + 1}") for i in range(50)]
    srv = dns_server(records)  # 50 MX do not fit in 512 bytes: TC, then TCP
    d = await run(srv, "many.test", max_hosts=10)
    assert [r.preference for r in d.records] == list(range(1, 11))
    assert [r.host for r in d.records][:2] == ["mx00.many.test", "mx01.many.test"]
    f = finding(d, "mx_cap")
    assert "50" in f.message and "10" in f.message
    # Only the ten most preferred were resolved.
    assert len({name for name, _ in address_queries(srv)}) == 10
    assert any(q.transport == "tcp" for q in srv.queries)


async def test_thirty_addresses_are_capped_and_the_cap_announced(dns_server) -> None:
    records = [("wide.test.", "MX", "10 mx.wide.test.")]
    records += [("mx.wide.test.", "A", f"127.0.2.{i + 1}") for i in range(30)]
    srv = dns_server(records)
    d = await run(srv, "wide.test", max_addresses=4)
    (record,) = d.records
    assert len(record.addresses) == 4
    assert set(record.addresses) <= {f"127.0.2.{i + 1}" for i in range(30)}
    f = finding(d, "address_cap")
    assert "4" in f.message
    assert "mx.wide.test" in f.message


async def test_no_cap_finding_when_under_the_caps(dns_server) -> None:
    srv = dns_server(ORDER_ZONE)
    d = await run(srv, "order.test", max_hosts=5, max_addresses=1)
    assert len(d.records) == 5
    assert "mx_cap" not in codes(d)
    assert "address_cap" not in codes(d)


# -- more names and partial failures ------------------------------------------


async def test_domain_that_is_a_cname_uses_the_targets_mx(dns_server) -> None:
    srv = dns_server(
        """
        alias.test.    CNAME real.test.
        real.test.     MX    10 mx.real.test.
        mx.real.test.  A     127.0.0.2
        """
    )
    d = await run(srv, "alias.test")
    assert d.source == "mx"
    assert [(r.host, r.addresses) for r in d.records] == [("mx.real.test", ("127.0.0.2",))]
    assert "real.test" in finding(d, "domain_cname").message


async def test_single_label_name_is_asked_as_is(dns_server) -> None:
    # No search domain may be appended (checklist E 69): exactly "intranet." is asked.
    srv = dns_server(
        """
        intranet.    MX 10 mx.intranet.
        mx.intranet. A  127.0.0.2
        """
    )
    d = await run(srv, "intranet")
    assert [r.host for r in d.records] == ["mx.intranet"]
    assert {q.qname for q in srv.queries} == {"intranet.", "mx.intranet."}


@pytest.mark.parametrize(("action", "said"), [("servfail", "SERVFAIL"), ("drop", "timed out")])
async def test_a_failed_host_lookup_is_reported_on_that_host_only(dns_server, action,
                                                                  said) -> None:
    srv = dns_server(
        """
        part.test.    MX 10 bad.part.test.
        part.test.    MX 20 ok.part.test.
        bad.part.test. A 127.0.0.3
        ok.part.test. A  127.0.0.2
        """,
        overrides={"bad.part.test.": action},
    )
    d = await run(srv, "part.test")
    by_host = {r.host: r for r in d.records}
    assert by_host["bad.part.test"].addresses == ()
    assert said in (by_host["bad.part.test"].lookup_error or "")
    assert by_host["ok.part.test"].addresses == ("127.0.0.2",)


async def test_a_host_listed_twice_is_probed_once_at_its_best_preference(dns_server) -> None:
    srv = dns_server(
        """
        twice.test.     MX 20 mx.twice.test.
        twice.test.     MX 10 mx.twice.test.
        mx.twice.test.  A  127.0.0.2
        """
    )
    found = await run(srv, "twice.test")
    assert [(r.preference, r.host) for r in found.records] == [(10, "mx.twice.test")]


async def test_nxdomain_and_timeouts_name_the_resolver_that_answered(dns_server) -> None:
    srv = dns_server("other.test. A 127.0.0.2", overrides={"slow.test.": "drop"})
    missing = finding(await run(srv, "missing.test"), "nxdomain")
    assert f"NXDOMAIN from 127.0.0.1:{srv.address[1]}" in missing.message
    assert "--nameserver" in missing.text().fix
    slow = finding(await run(srv, "slow.test"), "dns_timeout")
    assert f"(asked 127.0.0.1:{srv.address[1]})" in slow.message
