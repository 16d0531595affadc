"""The loopback DNS server, checked with dnspython's own resolver and query API.

Every other DNS test trusts this server to behave like a real authoritative
server, so each behaviour the MX tests rely on is pinned here against the
real client code: rcodes, the AA bit, CNAME chasing, truncation and the TCP
retry, dropped queries, odd record data and the query log.
"""

from __future__ import annotations

import socket
import threading

import dns.asyncresolver
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from tests import dnsserver
from tests.dnsserver import DnsServer, Query

dns_server = dnsserver.dns_server

ZONE = r"""
; a small zone exercising the odd cases the MX tests need
good.test.          MX   10 mx1.good.test.
good.test.          MX   20 mx2.good.test.
good.test.          TXT  "v=spf1 -all"
mx1.good.test.      A    127.0.0.2
mx2.good.test.      AAAA ::1
alias.good.test.    CNAME mx1.good.test.
loop1.good.test.    CNAME loop2.good.test.
loop2.good.test.    CNAME loop1.good.test.
dangling.good.test. CNAME nowhere.good.test.
deep.a.b.good.test. A    127.0.0.9
null.test.          MX   0 .
ip.test.            MX   10 192.0.2.1.
evil.test.          MX   10 \027]0\;PWN\007.evil.test.
xn--bcher-kva.test. MX   10 mx.xn--bcher-kva.test.
"""


def resolver(
    server: DnsServer, *, timeout: float = 0.5, lifetime: float = 1.5
) -> dns.resolver.Resolver:
    """A stub resolver that asks only the test server (no /etc/resolv.conf)."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [server.host]
    r.port = server.port
    r.timeout = timeout
    r.lifetime = lifetime
    return r


def ask(server: DnsServer, name: str, rdtype: str, *, tcp: bool = False) -> dns.message.Message:
    """One raw query, to look at flags and sections the resolver hides."""
    q = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(q, server.host, port=server.port, timeout=2.0)


def test_answers_authoritatively_over_udp_and_tcp_on_one_port(dns_server) -> None:
    srv = dns_server(ZONE)
    for tcp in (False, True):
        msg = ask(srv, "mx1.good.test.", "A", tcp=tcp)
        assert msg.rcode() == dns.rcode.NOERROR
        assert msg.flags & dns.flags.AA
        assert msg.flags & dns.flags.QR
        assert [rr.to_text() for rr in msg.answer[0]] == ["127.0.0.2"]
    assert [q.transport for q in srv.queries] == ["udp", "tcp"]


def test_resolver_gets_mx_records(dns_server) -> None:
    srv = dns_server(ZONE)
    answer = resolver(srv).resolve("good.test.", "MX")
    got = sorted((rr.preference, rr.exchange.to_text()) for rr in answer)
    assert got == [(10, "mx1.good.test."), (20, "mx2.good.test.")]


def test_nxdomain_for_a_name_absent_everywhere(dns_server) -> None:
    srv = dns_server(ZONE)
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(srv).resolve("nope.good.test.", "MX")
    msg = ask(srv, "nope.good.test.", "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN
    assert msg.flags & dns.flags.AA


def test_noanswer_for_a_name_present_with_other_types(dns_server) -> None:
    srv = dns_server(ZONE)
    with pytest.raises(dns.resolver.NoAnswer):
        resolver(srv).resolve("mx1.good.test.", "AAAA")
    msg = ask(srv, "mx1.good.test.", "MX")
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.answer == []


def test_empty_non_terminal_is_noerror_not_nxdomain(dns_server) -> None:
    # b.good.test. owns nothing but has a descendant: it exists (RFC 8020).
    srv = dns_server(ZONE)
    assert ask(srv, "a.b.good.test.", "A").rcode() == dns.rcode.NOERROR
    assert ask(srv, "b.good.test.", "A").rcode() == dns.rcode.NOERROR
    assert ask(srv, "c.good.test.", "A").rcode() == dns.rcode.NXDOMAIN


def test_cname_is_chased_to_the_target_records(dns_server) -> None:
    srv = dns_server(ZONE)
    msg = ask(srv, "alias.good.test.", "A")
    assert [(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype)) for rr in msg.answer] == [
        ("alias.good.test.", "CNAME"),
        ("mx1.good.test.", "A"),
    ]
    answer = resolver(srv).resolve("alias.good.test.", "A")
    assert answer.canonical_name.to_text() == "mx1.good.test."
    assert answer.qname.to_text() == "alias.good.test."
    assert [rr.address for rr in answer] == ["127.0.0.2"]
    # Asked for the CNAME itself: just the CNAME.
    cname = resolver(srv).resolve("alias.good.test.", "CNAME")
    assert cname[0].target.to_text() == "mx1.good.test."


def test_cname_to_a_target_with_other_types_is_noanswer(dns_server) -> None:
    srv = dns_server(ZONE)
    msg = ask(srv, "alias.good.test.", "AAAA")
    assert msg.rcode() == dns.rcode.NOERROR
    assert [dns.rdatatype.to_text(rr.rdtype) for rr in msg.answer] == ["CNAME"]
    with pytest.raises(dns.resolver.NoAnswer):
        resolver(srv).resolve("alias.good.test.", "AAAA")


def test_cname_to_a_missing_name_is_nxdomain(dns_server) -> None:
    # RFC 6604: the rcode is that of the last name in the chain.
    srv = dns_server(ZONE)
    msg = ask(srv, "dangling.good.test.", "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN
    assert [dns.rdatatype.to_text(rr.rdtype) for rr in msg.answer] == ["CNAME"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(srv).resolve("dangling.good.test.", "A")


def test_cname_loop_terminates(dns_server) -> None:
    srv = dns_server(ZONE)
    msg = ask(srv, "loop1.good.test.", "A")
    assert msg.rcode() == dns.rcode.NOERROR
    assert len(msg.answer) == 2


@pytest.mark.parametrize(
    ("action", "exc"),
    [
        ("servfail", dns.resolver.NoNameservers),
        ("refused", dns.resolver.NoNameservers),
        ("yxdomain", dns.resolver.YXDOMAIN),
        ("nxdomain", dns.resolver.NXDOMAIN),
    ],
)
def test_overrides_produce_the_resolver_errors(dns_server, action, exc) -> None:
    srv = dns_server(ZONE, overrides={"good.test.": action})
    with pytest.raises(exc):
        resolver(srv).resolve("good.test.", "MX")
    # Other names are unaffected.
    assert resolver(srv).resolve("mx1.good.test.", "A")[0].address == "127.0.0.2"


def test_servfail_detail_names_the_server_and_rcode(dns_server) -> None:
    srv = dns_server(ZONE, overrides={"good.test.": "servfail"})
    with pytest.raises(dns.resolver.NoNameservers) as info:
        resolver(srv).resolve("good.test.", "MX")
    assert "SERVFAIL" in str(info.value)
    assert ask(srv, "good.test.", "MX").rcode() == dns.rcode.SERVFAIL


def test_override_by_name_and_type(dns_server) -> None:
    srv = dns_server(ZONE, overrides={("mx2.good.test.", "A"): "servfail"})
    with pytest.raises(dns.resolver.NoNameservers):
        resolver(srv).resolve("mx2.good.test.", "A")
    assert resolver(srv).resolve("mx2.good.test.", "AAAA")[0].address == "::1"


def test_override_can_be_set_and_cleared_while_running(dns_server) -> None:
    srv = dns_server(ZONE)
    srv.set_override("good.test.", "refused")
    assert ask(srv, "good.test.", "MX").rcode() == dns.rcode.REFUSED
    srv.set_override("good.test.", None)
    assert ask(srv, "good.test.", "MX").rcode() == dns.rcode.NOERROR


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ValueError):
        DnsServer(ZONE, overrides={"good.test.": "explode"})  # type: ignore[dict-item]


def test_dropped_query_times_out_and_is_logged(dns_server) -> None:
    srv = dns_server(ZONE, overrides={"good.test.": "drop"})
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver(srv, timeout=0.2, lifetime=0.5).resolve("good.test.", "MX")
    assert srv.asked("good.test.", "MX") >= 1


def test_forced_truncation_makes_the_resolver_retry_over_tcp(dns_server) -> None:
    srv = dns_server(ZONE, truncate=["good.test."])
    udp = ask(srv, "good.test.", "MX")
    assert udp.flags & dns.flags.TC
    assert udp.answer == []
    srv.clear_log()
    answer = resolver(srv).resolve("good.test.", "MX")
    assert len(answer) == 2
    assert [(q.qname, q.transport) for q in srv.queries] == [
        ("good.test.", "udp"),
        ("good.test.", "tcp"),
    ]
    # Names not listed are answered over UDP directly.
    assert not ask(srv, "mx1.good.test.", "A").flags & dns.flags.TC


def test_truncate_everything(dns_server) -> None:
    srv = dns_server(ZONE, truncate=True)
    assert ask(srv, "mx1.good.test.", "A").flags & dns.flags.TC
    assert resolver(srv).resolve("mx1.good.test.", "A")[0].address == "127.0.0.2"


def test_big_answer_is_truncated_over_udp_then_served_over_tcp(dns_server) -> None:
    records = [("big.test.", "MX", f"{i} mx{i:02d}.big.test.") for i in range(50)]
    srv = dns_server(records)
    udp = ask(srv, "big.test.", "MX")
    assert udp.flags & dns.flags.TC
    tcp = ask(srv, "big.test.", "MX", tcp=True)
    assert len(tcp.answer[0]) == 50
    # A client announcing a big EDNS payload gets it all over UDP.
    q = dns.message.make_query("big.test.", "MX", use_edns=0, payload=4096)
    edns = dns.query.udp(q, srv.host, port=srv.port, timeout=2.0)
    assert not edns.flags & dns.flags.TC
    assert len(edns.answer[0]) == 50
    assert len(resolver(srv).resolve("big.test.", "MX")) == 50


def test_odd_record_data_is_served(dns_server) -> None:
    srv = dns_server(ZONE)
    r = resolver(srv)
    null = r.resolve("null.test.", "MX")
    assert [(rr.preference, rr.exchange) for rr in null] == [(0, dns.name.root)]
    ip = r.resolve("ip.test.", "MX")
    assert ip[0].exchange.to_text() == "192.0.2.1."
    evil = r.resolve("evil.test.", "MX")
    assert evil[0].exchange.labels[0] == b"\x1b]0;PWN\x07"
    assert evil[0].exchange.to_text() == "\\027]0\\;PWN\\007.evil.test."
    idn = r.resolve(dns.name.from_text("bücher.test"), "MX")
    assert idn[0].exchange.to_text() == "mx.xn--bcher-kva.test."


def test_query_log_records_name_type_and_escapes_hostile_names(dns_server) -> None:
    srv = dns_server(ZONE)
    evil = dns.name.Name([b"\x1b]0;PWN\x07", b"evil", b"test", b""])
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(srv).resolve(evil, "A")
    assert srv.queries == [Query("\\027]0\\;PWN\\007.evil.test.", "A", "udp")]
    assert srv.asked("\\027]0\\;PWN\\007.evil.test.") == 1
    assert srv.asked("good.test.") == 0


def test_records_as_tuples_merge_into_rrsets(dns_server) -> None:
    srv = dns_server(
        [
            ("many.test.", "A", "127.0.0.2"),
            ("many.test.", "A", "127.0.0.3"),
            ("many.test.", "AAAA", "::1"),
        ]
    )
    got = sorted(rr.address for rr in resolver(srv).resolve("many.test.", "A"))
    assert got == ["127.0.0.2", "127.0.0.3"]
    srv.add("many.test.", "A", "127.0.0.4")
    assert len(resolver(srv).resolve("many.test.", "A")) == 3
    srv.remove("many.test.", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver(srv).resolve("many.test.", "A")
    srv.remove("many.test.")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(srv).resolve("many.test.", "AAAA")


def test_garbage_is_ignored_and_server_keeps_serving(dns_server) -> None:
    srv = dns_server(ZONE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x00\x01garbage", srv.address)
    with socket.create_connection(srv.address, timeout=2.0) as s:
        s.sendall(b"\x00\x05abc")  # short segment then close
    assert resolver(srv).resolve("mx1.good.test.", "A")[0].address == "127.0.0.2"
    assert srv.queries == [Query("mx1.good.test.", "A", "udp")]


async def test_async_resolver_from_a_running_loop(dns_server) -> None:
    # The server runs in its own thread, so awaiting in the test loop is fine.
    srv = dns_server(ZONE)
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [srv.host]
    r.port = srv.port
    r.timeout, r.lifetime = 0.5, 1.5
    answer = await r.resolve("good.test.", "MX")
    assert len(answer) == 2


def test_context_manager_stops_threads_and_frees_the_port() -> None:
    before = set(threading.enumerate())
    with DnsServer(ZONE) as srv:
        port = srv.port
        assert srv.nameserver_arg == f"127.0.0.1:{port}"
        assert srv.address == ("127.0.0.1", port)
        ask(srv, "good.test.", "MX", tcp=True)
    assert set(threading.enumerate()) <= before
    srv.stop()  # idempotent
    # The TCP port is free again: nothing listens there any more.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(OSError):
        s.settimeout(2.0)
        s.connect(("127.0.0.1", port))
