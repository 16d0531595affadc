"""The batch benchmarks' load fixture answers like the suite's servers, over real sockets.

A benchmark is only as good as its servers: a DNS responder that answered
differently from the suite's reference server, or an SMTP server that took
a shortcut, would make every figure in bench/README.md measure something
else. These tests hold the fast fixture (bench/fastdns.py, bench/fastsmtp.py,
bench/loadservers.py) to the reference behaviour and drive probe itself
through it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import pytest

from bench.fastdns import FastDns
from bench.fastsmtp import FastSmtp
from bench.loadservers import ROOT, LoadServers
from bench.loadzone import LoadZone
from tests.dnsserver import DnsServer

ZONE = LoadZone(30, mx_hosts=3)

QUESTIONS = [
    ("d000001.bench.test.", "MX"),
    ("d000002.bench.test.", "MX"),
    ("D000030.Bench.TEST.", "MX"),  # case does not matter
    ("d000031.bench.test.", "MX"),  # past the last domain
    ("d000001.bench.test.", "A"),  # exists, no data of that type
    ("d1.bench.test.", "MX"),  # not the zone's spelling of domain 1
    ("x.d000001.bench.test.", "MX"),
    ("mx0.bench.test.", "A"),
    ("mx2.bench.test.", "A"),
    ("mx2.bench.test.", "AAAA"),
    ("mx3.bench.test.", "A"),  # only three MX hosts
    ("bench.test.", "MX"),  # empty non-terminal
    ("test.", "NS"),
    ("10.0.0.127.in-addr.arpa.", "PTR"),
    ("12.0.0.127.in-addr.arpa.", "PTR"),
    ("13.0.0.127.in-addr.arpa.", "PTR"),
    ("0.0.127.in-addr.arpa.", "PTR"),
    ("elsewhere.example.", "MX"),
]


def test_zone_names_round_trip_and_refuse_lookalikes():
    zone = LoadZone(1_200_000, mx_hosts=8)
    assert zone.domain(7) == "d000007.bench.test"
    assert zone.domain(1_200_000) == "d1200000.bench.test"
    for index in (1, 7, 999_999, 1_200_000):
        assert zone.index_of(zone.domain(index)) == index
    assert zone.index_of("D000007.BENCH.TEST.") == 7
    for name in ("d0000007.bench.test", "d000000.bench.test", "d1200001.bench.test",
                 "d00000\u0667.bench.test", "d000007.other.test", "d000007", "x000007.bench.test",
                 "d.bench.test", "d-00007.bench.test"):
        assert zone.index_of(name) is None, name
    assert {zone.mx_of(i) for i in range(1, 17)} == set(range(8))
    assert zone.addresses() == [f"127.0.0.{10 + k}" for k in range(8)]
    with pytest.raises(ValueError):
        LoadZone(10, mx_hosts=0)


async def _ask(port: int, name: str, rdtype: str,
               rdclass: str = "IN") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, rdclass)
    return await dns.asyncquery.udp(query, "127.0.0.1", timeout=5, port=port)


def _summary(response: dns.message.Message) -> tuple[str, bool, list[str]]:
    """rcode, AA, answer records; lower case (name compression may borrow the question's case)."""
    return (dns.rcode.to_text(response.rcode()), bool(response.flags & dns.flags.AA),
            sorted(rrset.to_text().lower() for rrset in response.answer))


async def test_fast_dns_answers_exactly_as_the_reference_server():
    with DnsServer(ZONE.records(), ttl=300) as reference:
        async with FastDns(ZONE) as fast:
            for name, rdtype in QUESTIONS:
                expected = _summary(await _ask(reference.port, name, rdtype))
                got = _summary(await _ask(fast.port, name, rdtype))
                assert got == expected, (name, rdtype)
            assert fast.counts["MX"] == 8 and fast.counts["PTR"] == 4


async def test_fast_dns_refuses_other_classes_and_opcodes_and_drops_garbage():
    async with FastDns(ZONE) as fast:
        chaos = await _ask(fast.port, "d000001.bench.test.", "TXT", "CH")
        assert chaos.rcode() == dns.rcode.REFUSED
        status = dns.message.make_query("d000001.bench.test.", "MX")
        status.set_opcode(dns.opcode.STATUS)
        reply = await dns.asyncquery.udp(status, "127.0.0.1", timeout=5, port=fast.port)
        assert reply.rcode() == dns.rcode.NOTIMP

        already_a_response = dns.message.make_response(
            dns.message.make_query("d000001.bench.test.", "MX")).to_wire()
        header = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"  # one question
        pointer_in_question = header + b"\xc0\x0c\x00\x0f\x00\x01"
        endless_label = header + b"\x3f" + b"a" * 300
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.connect(("127.0.0.1", fast.port))
            for garbage in (b"", b"\x00" * 5, already_a_response, pointer_in_question,
                            endless_label, bytes(range(256)) * 4):
                sock.send(garbage)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(loop.sock_recv(sock, 4096), 0.3)
        assert fast.counts["dropped"] == 6
        # ...and it still answers afterwards.
        answer = await _ask(fast.port, "d000003.bench.test.", "MX")
        assert [rrset.to_text() for rrset in answer.answer] == [
            "d000003.bench.test. 300 IN MX 10 mx2.bench.test."]


async def _reply(reader: asyncio.StreamReader) -> list[bytes]:
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), 5)
        lines.append(line)
        if line[3:4] != b"-":
            return lines


async def test_fast_smtp_dialog_on_every_address_with_one_port():
    async with FastSmtp(ZONE.addresses()) as smtp:
        for address in ZONE.addresses():
            reader, writer = await asyncio.open_connection(address, smtp.port)
            assert await _reply(reader) == [b"220 mx.bench.test ESMTP ready\r\n"]
            writer.write(b"EHLO bench.example\r\n")
            ehlo = await _reply(reader)
            assert ehlo[0].startswith(b"250-") and b"STARTTLS" not in b"".join(ehlo)
            for command, code in ((b"HELP", b"214"), (b"MAIL FROM:<>", b"250"),
                                  (b"RCPT TO:<postmaster@d000001.bench.test>", b"250"),
                                  (b"DATA", b"502"), (b"STARTTLS", b"502")):
                writer.write(command + b"\r\n")
                assert (await _reply(reader))[0][:3] == code, command
            # Pipelined lines after QUIT are not answered: the session is over.
            writer.write(b"QUIT\r\nNOOP\r\n")
            assert await _reply(reader) == [b"221 2.0.0 Bye\r\n"]
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        assert smtp.counts["sessions"] == 3 and smtp.counts["QUIT"] == 3
        assert smtp.counts["DATA"] == 3 and smtp.counts["other"] == 3
        assert "NOOP" not in smtp.counts


async def test_fast_smtp_refuses_an_endless_line_and_closes():
    async with FastSmtp(["127.0.0.10"]) as smtp:
        reader, writer = await asyncio.open_connection("127.0.0.10", smtp.port)
        await _reply(reader)
        writer.write(b"EHLO " + b"x" * 5000)  # no line end, ever
        assert (await _reply(reader))[0].startswith(b"500 ")
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        assert smtp.counts["too_long"] == 1


async def test_fast_smtp_closes_a_session_that_outstays_its_limit():
    async with FastSmtp(["127.0.0.10"], session_limit=0.2) as smtp:
        reader, writer = await asyncio.open_connection("127.0.0.10", smtp.port)
        await _reply(reader)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


def test_probe_and_the_floor_client_run_against_the_load_servers(tmp_path):
    """The fixture in its own process serves probe (one domain, a batch) and the floor."""
    zone = LoadZone(6, mx_hosts=2)
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(domain + "\n" for domain in zone.targets()))
    with LoadServers(zone) as servers:
        common = ["--nameserver", servers.nameserver, "--port", str(servers.smtp_port),
                  "--helo", "bench.example", "--timeout", "10", "--no-checks"]
        one = subprocess.run([sys.executable, "-m", "probe", zone.domain(2), "--json", *common],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert one.returncode == 0, one.stderr
        document = json.loads(one.stdout)
        assert [host["address"] for host in document["hosts"]] == ["127.0.0.11"]
        assert document["exit_code"] == 0

        batch = subprocess.run([sys.executable, "-m", "probe", "batch", str(targets), "--json",
                                *common], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert batch.returncode == 0, batch.stderr
        assert sorted(json.loads(line)["domain"] for line in batch.stdout.splitlines()) == \
            sorted(zone.targets())  # completion order

        floor = subprocess.run([sys.executable, "-m", "bench.floor_client", str(targets),
                                "--nameserver", servers.nameserver, "--port",
                                str(servers.smtp_port), "--exchange", "probe"],
                               capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert floor.returncode == 0, floor.stderr
        assert json.loads(floor.stdout) == {"ok": 6, "failed": 0, "errors": {}}

        stats = servers.stats()
        assert stats["smtp"]["sessions"] == 1 + 6 + 6
        assert stats["smtp"]["QUIT"] == 13 and "DATA" not in stats["smtp"]
        # probe runs without health checks here (reverse DNS is one): only the floor asks PTR.
        assert stats["dns"]["MX"] == 13 and stats["dns"]["PTR"] == 6
        assert servers.reset()["smtp"]["sessions"] == 13
        assert servers.stats()["smtp"] == {}
