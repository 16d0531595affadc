"""A fast authoritative DNS responder on loopback UDP for a `LoadZone`.

Why not the test suite's `tests/dnsserver.py`: that server parses and builds
every message with dnspython in a thread, which is right for hostile edge
cases but costs about 0.1 ms of CPU per query (see bench/README.md); a batch of
thousands of domains asks five or more questions each, and the responder must
never be what the benchmark measures. This one reads the question straight
from the wire, answers from bytes prepared once and drains its socket without
a transport; bench/fixture_bench.py measures what a query costs.

What it answers (all authoritative, UDP only: every answer is far below 512
bytes, so no client ever needs TCP):

* `dNNNNNN.bench.test` MX -> `10 mxK.bench.test` (for the zone's N domains)
* `mxK.bench.test` A -> 127.0.0.(10+K); AAAA and other types: NOERROR, no data
* `(10+K).0.0.127.in-addr.arpa` PTR -> `mxK.bench.test`
* a generated domain asked for another type, or `bench.test` itself: no data
* any other name: NXDOMAIN. Non-IN classes: REFUSED. Other opcodes: NOTIMP.
  Anything that does not parse as one plain question is dropped, as a real
  server drops garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

from bench.loadzone import LoadZone

TYPE_A, TYPE_PTR, TYPE_MX = 1, 12, 15
CLASS_IN = 1
RCODE_NOERROR, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED = 0, 1, 3, 4, 5
FLAG_QR, FLAG_AA = 0x8000, 0x0400
ECHOED_FLAGS = 0x7900  # opcode and RD are copied from the query (RFC 1035 §4.1.1)
OPCODE_MASK = 0x7800
TTL = 300
HEADER = struct.Struct("!HHHHHH")
MAX_NAME = 255  # RFC 1035 §2.3.4
MAX_QUERY = 4096  # bytes read per datagram; a plain question is far smaller
DRAIN_BATCH = 256  # datagrams answered per wake-up at most
RECEIVE_BUFFER = 1 << 20  # absorbs bursts of queries while the loop serves SMTP


def wire_name(name: str) -> bytes:
    """An absolute name in uncompressed wire form, lower case."""
    labels = [label for label in name.lower().rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\0"


def _record(rdtype: int, rdata: bytes) -> bytes:
    """One answer record whose owner is the question's name (pointer to offset 12)."""
    return b"\xc0\x0c" + struct.pack("!HHIH", rdtype, CLASS_IN, TTL, len(rdata)) + rdata


def parse_question(wire: bytes) -> tuple[int, int, int, bytes, int, int] | None:
    """(id, flags, end of question, lower-case qname, qtype, qclass), or None if malformed."""
    if len(wire) < HEADER.size + 5:
        return None
    qid, flags, qdcount, _an, _ns, _ar = HEADER.unpack_from(wire)
    if flags & FLAG_QR or qdcount != 1:
        return None
    pos = HEADER.size
    while True:
        if pos >= len(wire) or pos - HEADER.size >= MAX_NAME:
            return None
        length = wire[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0:  # no compression pointers in a question we would answer
            return None
        pos += 1 + length
    if pos + 4 > len(wire):
        return None
    qtype, qclass = struct.unpack_from("!HH", wire, pos)
    # Length bytes are < 64, so lower() only ever touches ASCII letters.
    return qid, flags, pos + 4, wire[HEADER.size:pos].lower(), qtype, qclass


@dataclass
class ZoneAnswers:
    """Answer bytes for a zone, keyed by (wire name, type); domains computed on the fly."""

    zone: LoadZone
    _static: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    _names: set[bytes] = field(default_factory=set)
    _mx_records: list[bytes] = field(default_factory=list)
    _suffix: bytes = b""

    def __post_init__(self) -> None:
        zone = self.zone
        self._suffix = wire_name(zone.suffix)
        for mx in range(zone.mx_hosts):
            host = wire_name(zone.mx_host(mx))
            address = zone.mx_address(mx)
            octets = bytes(int(part) for part in address.split("."))
            self._static[(host, TYPE_A)] = _record(TYPE_A, octets)
            self._names.add(host)
            reverse = wire_name(zone.reverse_name(mx))
            self._static[(reverse, TYPE_PTR)] = _record(TYPE_PTR, host)
            self._names.add(reverse)
            self._mx_records.append(_record(TYPE_MX, struct.pack("!H", 10) + host))
        for name in [self._suffix, *self._names]:  # empty non-terminals exist too
            while name != b"\0":
                self._names.add(name)
                name = name[1 + name[0]:]

    def _domain_index(self, qname: bytes) -> int | None:
        if not qname.endswith(self._suffix) or qname[0] + 1 + len(self._suffix) != len(qname):
            return None
        return self.zone.index_of(qname[1:1 + qname[0]].decode("ascii", "replace")
                                  + "." + self.zone.suffix)

    def lookup(self, qname: bytes, qtype: int) -> tuple[int, bytes, int]:
        """(rcode, answer bytes, answer count) for one question of class IN."""
        index = self._domain_index(qname)
        if index is not None:
            if qtype == TYPE_MX:
                return RCODE_NOERROR, self._mx_records[self.zone.mx_of(index)], 1
            return RCODE_NOERROR, b"", 0
        answer = self._static.get((qname, qtype))
        if answer is not None:
            return RCODE_NOERROR, answer, 1
        if qname in self._names:  # a name that exists, or has names below it
            return RCODE_NOERROR, b"", 0
        return RCODE_NXDOMAIN, b"", 0

    def respond(self, wire: bytes, counts: Counter[str] | None = None) -> bytes | None:
        """The reply datagram for one query datagram (None: drop it)."""
        parsed = parse_question(wire)
        if parsed is None:
            if counts is not None:
                counts["dropped"] += 1
            return None
        qid, flags, end, qname, qtype, qclass = parsed
        if counts is not None:
            counts[_TYPE_NAMES.get(qtype, "other")] += 1
        if flags & OPCODE_MASK:
            rcode, answer, ancount = RCODE_NOTIMP, b"", 0
        elif qclass != CLASS_IN:
            rcode, answer, ancount = RCODE_REFUSED, b"", 0
        else:
            rcode, answer, ancount = self.lookup(qname, qtype)
        reply_flags = FLAG_QR | FLAG_AA | (flags & ECHOED_FLAGS) | rcode
        return HEADER.pack(qid, reply_flags, 1, ancount, 0, 0) + wire[HEADER.size:end] + answer


_TYPE_NAMES = {TYPE_A: "A", 28: "AAAA", TYPE_MX: "MX", TYPE_PTR: "PTR"}


class FastDns:
    """`async with FastDns(zone) as dns:` serves the zone on 127.0.0.1:`dns.port` (UDP)."""

    def __init__(self, zone: LoadZone, host: str = "127.0.0.1", port: int = 0) -> None:
        self.answers = ZoneAnswers(zone)
        self.host = host
        self.port = port
        self.counts: Counter[str] = Counter()
        self._socket: socket.socket | None = None

    @property
    def nameserver_arg(self) -> str:
        """`127.0.0.1:PORT`, the shape of probe's --nameserver option."""
        return f"{self.host}:{self.port}"

    async def start(self) -> FastDns:
        """Bind and start answering from the running loop.

        A bare non-blocking socket with a reader callback rather than a
        datagram transport: the callback drains every queued datagram at
        once, where a transport pays a loop iteration per datagram (about
        3x the CPU per query under load, see bench/README.md).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind((self.host, self.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)
        return self

    def _drain(self) -> None:
        sock = self._socket
        if sock is None:
            return
        for _ in range(DRAIN_BATCH):  # bounded, so the loop's other work is not starved
            try:
                data, peer = sock.recvfrom(MAX_QUERY)
            except OSError:  # BlockingIOError when empty; ICMP errors surface here too
                return
            reply = self.answers.respond(data, self.counts)
            if reply is not None:
                with contextlib.suppress(OSError):  # a full buffer drops it, as UDP may
                    sock.sendto(reply, peer)

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> FastDns:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.close()
