"""A real authoritative DNS server on loopback, for tests.

Why a server and not a mocked resolver: the bugs that matter in MX discovery
live in the real resolver path -- how dnspython turns SERVFAIL into
`NoNameservers`, how a lost packet becomes `LifetimeTimeout`, how a CNAME chain
sets `canonical_name`, how an answer too big for UDP falls back to TCP. A mock
only replays what its author believed; this server speaks DNS on the wire so
`dns.asyncresolver` (and the CLI in a subprocess) run exactly as in production.

Shape:

* UDP and TCP on 127.0.0.1, one ephemeral port number for both (a resolver that
  retries over TCP after a truncated UDP answer asks the same port).
* A background thread serves, so it works with any event loop -- including a
  test's own loop blocked in `await` and a CLI subprocess.
* Zone data as zone-file text (absolute names; `$TTL` optional) or as a list
  of `(name, type, rdata)` tuples. Odd data is fine: `MX 0 .`, an MX to
  `192.0.2.1.`, labels with `\\027` escape bytes, IDN A-labels, big RRsets.
* Answers are authoritative (AA). A name absent from the data, and with no
  descendant in it, is NXDOMAIN unless a `*` record at its closest encloser
  covers it (RFC 4592 wildcards, e.g. DMARC's `*._report._dmarc.DEST`); a
  name present with other types is NOERROR with an empty answer (NoAnswer).
  CNAMEs are chased inside the data as a real authoritative server does; a
  chain ending on a missing name is NXDOMAIN (RFC 6604: the rcode speaks for
  the last name of the chain).
* Per-name (or per name+type) overrides answer SERVFAIL, REFUSED, YXDOMAIN,
  NXDOMAIN, FORMERR, NOTIMP, or drop the query so the client times out.
* Truncation: answers bigger than the client's UDP limit (512, or its EDNS
  payload) go out with TC and no records, as real servers do; `truncate=`
  forces TC over UDP for chosen names (or all) to exercise the TCP retry.
* Every query received is logged (`qname`, `qtype`, `transport`) so tests can
  assert what was -- or was not -- asked.
* DNSSEC (zones signed by `tests/dnssec.py`): RRSIGs are kept per covered
  type and added to answers when the query has the DO bit, with the zone's
  SOA (and its RRSIG, and the NSEC at the name) in the authority section of
  a negative answer. Without DO nothing changes.
* `validate_with=ANCHOR` (the root DNSKEY RRset) makes the server behave like
  a validating resolver in front of its own data: it checks every answer's
  signatures with dnspython up the DS chain to the anchor, sets AD on
  secure answers, answers SERVFAIL for bogus ones unless the query sets CD,
  and clears AA. It trusts its own data for "no DS here" (an insecure
  delegation) instead of checking NSEC proofs, the one shortcut it takes.
* `secure=` plays a validating resolver: answers for the chosen names (or all)
  carry the AD bit when the query asked for it (AD or DO set, RFC 6840 §5.7).
  No signatures are made: the AD bit is what a stub resolver relies on.

Use it as a context manager (`with DnsServer(zone) as srv:`) or through the
`dns_server` fixture factory below (import it into the test module).
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

__all__ = [
    "Action",
    "DnsServer",
    "Query",
    "RecordSpec",
    "dns_server",
]

Action = Literal["servfail", "refused", "yxdomain", "nxdomain", "formerr", "notimp", "drop"]
"""What an override makes the server do instead of answering from the data."""

RecordSpec = tuple[str, str, str]
"""(owner name, type, rdata) in zone-file syntax, e.g. ("a.test.", "MX", "10 mx.a.test.")."""

OverrideKey = str | tuple[str, str]
"""A name ("mx.test.") or a (name, type) pair (("mx.test.", "AAAA")) an override applies to."""

_RCODES: dict[str, dns.rcode.Rcode] = {
    "servfail": dns.rcode.SERVFAIL,
    "refused": dns.rcode.REFUSED,
    "yxdomain": dns.rcode.YXDOMAIN,
    "nxdomain": dns.rcode.NXDOMAIN,
    "formerr": dns.rcode.FORMERR,
    "notimp": dns.rcode.NOTIMP,
}
_CNAME_HOPS = 8  # a real server bounds chain chasing too; loops must not hang the test
_HOST = "127.0.0.1"
_TCP_IDLE = 5.0  # seconds a TCP client may sit idle before the server closes it


@dataclass(frozen=True)
class Query:
    """One question as the server received it.

    `qname` is `Name.to_text()` (escaped, absolute, lower case as sent), so a
    hostile label shows up as `\\027]0...`, never as raw control bytes.
    """

    qname: str
    qtype: str
    transport: Literal["udp", "tcp"]


def _name(text: str | dns.name.Name) -> dns.name.Name:
    """Parse an absolute name; relative input is taken as absolute (tests write FQDNs)."""
    if isinstance(text, dns.name.Name):
        return text
    return dns.name.from_text(text, origin=dns.name.root)


def _override_key(key: OverrideKey) -> tuple[dns.name.Name, int | None]:
    if isinstance(key, tuple):
        name, rdtype = key
        return _name(name), int(dns.rdatatype.from_text(rdtype))
    return _name(key), None


class DnsServer:
    """Authoritative DNS server over UDP+TCP on 127.0.0.1, served from a thread.

    Thread-safety: the data, overrides and log are guarded by one lock, so a
    test may change them while the server runs (e.g. flip a name to SERVFAIL
    between two probes).
    """

    def __init__(
        self,
        zone: str | Iterable[RecordSpec] = (),
        *,
        ttl: int = 300,
        overrides: Mapping[OverrideKey, Action] | None = None,
        truncate: bool | Iterable[str] = False,
        validate_with: dns.rrset.RRset | None = None,
        secure: bool | Iterable[str] = False,
    ) -> None:
        """Load the data; nothing listens until `start()` (or `with`).

        `truncate=True` answers every UDP query with TC (every answer then
        comes over TCP); a list of names does it only for those names.
        `validate_with` (a root DNSKEY RRset) turns on the validating-resolver
        behaviour described in the module docstring.
        """
        self._lock = threading.Lock()
        self._data: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
        self._sigs: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}  # by covered type
        self._anchor = validate_with
        self._overrides: dict[tuple[dns.name.Name, int | None], Action] = {}
        self._queries: list[Query] = []
        self._ttl = ttl
        self._truncate_all = truncate is True
        self._truncate: set[dns.name.Name] = (
            set() if isinstance(truncate, bool) else {_name(n) for n in truncate}
        )
        if isinstance(zone, str):
            self.load_text(zone)
        else:
            for name, rdtype, rdata in zone:
                self.add(name, rdtype, rdata)
        for key, action in (overrides or {}).items():
            self.set_override(key, action)
        self._secure_all = secure is True
        self._secure: set[dns.name.Name] = (
            set() if isinstance(secure, bool) else {_name(n) for n in secure}
        )

        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._conn_threads: set[threading.Thread] = set()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self.port = 0

    # -- data ---------------------------------------------------------------

    def load_text(self, text: str) -> None:
        """Add records from zone-file text (absolute owner names, `;` comments).

        Every line must start with its owner name (leading blanks are ignored,
        so the master-file "blank owner = previous owner" shorthand is not
        available).

        Parsed by dnspython's zone reader with the root as origin, so every
        escape the master-file format allows (`\\027`, `\\;`, `\\.`) works and
        names outside any particular zone are accepted.
        """
        # Tests write zones in indented triple-quoted strings: every line names
        # its owner, so leading blanks are layout, not "same owner as above".
        text = "\n".join(line.lstrip() for line in text.splitlines())
        if "$TTL" not in text:
            text = f"$TTL {self._ttl}\n{text}"
        zone = dns.zone.from_text(text, origin=dns.name.root, relativize=False, check_origin=False)
        with self._lock:
            for name, rdataset in zone.iterate_rdatasets():
                rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
                rrset.update(rdataset)
                self._merge(rrset)

    def add(self, name: str, rdtype: str, rdata: str, ttl: int | None = None) -> None:
        """Add one record; records of the same name and type form one RRset."""
        rrset = dns.rrset.from_text(
            _name(name), self._ttl if ttl is None else ttl, "IN", rdtype, rdata
        )
        with self._lock:
            self._merge(rrset)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        """Delete a name's RRset of one type, or the whole name."""
        owner = _name(name)
        with self._lock:
            if rdtype is None:
                self._data.pop(owner, None)
                self._sigs.pop(owner, None)
            else:
                node = self._data.get(owner, {})
                node.pop(int(dns.rdatatype.from_text(rdtype)), None)
                self._sigs.get(owner, {}).pop(int(dns.rdatatype.from_text(rdtype)), None)
                if not node:
                    self._data.pop(owner, None)

    def _merge(self, rrset: dns.rrset.RRset) -> None:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            sigs = self._sigs.setdefault(rrset.name, {})
            if rrset.covers in sigs:
                sigs[rrset.covers].union_update(rrset)
            else:
                sigs[rrset.covers] = rrset
            return
        node = self._data.setdefault(rrset.name, {})
        existing = node.get(rrset.rdtype)
        if existing is None:
            node[rrset.rdtype] = rrset
        else:
            existing.union_update(rrset)

    def set_override(self, key: OverrideKey, action: Action | None) -> None:
        """Make queries for a name (or name+type) fail in a chosen way; None clears it."""
        if action is not None and action != "drop" and action not in _RCODES:
            raise ValueError(f"unknown override action {action!r}")
        k = _override_key(key)
        with self._lock:
            if action is None:
                self._overrides.pop(k, None)
            else:
                self._overrides[k] = action

    # -- log ----------------------------------------------------------------

    @property
    def queries(self) -> list[Query]:
        """A copy of the query log, oldest first."""
        with self._lock:
            return list(self._queries)

    def asked(self, name: str, rdtype: str | None = None) -> int:
        """How many times a name (optionally of one type) was asked, any transport."""
        owner = _name(name).to_text()
        with self._lock:
            return sum(
                1
                for q in self._queries
                if q.qname == owner and (rdtype is None or q.qtype == rdtype.upper())
            )

    def clear_log(self) -> None:
        """Forget the queries received so far (e.g. after a warm-up)."""
        with self._lock:
            self._queries.clear()

    # -- addresses ----------------------------------------------------------

    @property
    def host(self) -> str:
        """The address clients should ask (always 127.0.0.1)."""
        return _HOST

    @property
    def address(self) -> tuple[str, int]:
        """(host, port): the shape `build_resolver(nameservers=[...])` takes."""
        return (_HOST, self.port)

    @property
    def nameserver_arg(self) -> str:
        """`127.0.0.1:PORT`: the shape of the CLI's `--nameserver` option."""
        return f"{_HOST}:{self.port}"

    # -- answering ----------------------------------------------------------

    def _exists(self, name: dns.name.Name) -> bool:
        """True if the name owns data or is an empty non-terminal (has descendants)."""
        if name in self._data:
            return True
        return any(owner.is_subdomain(name) for owner in self._data)

    def _action_for(self, qname: dns.name.Name, qtype: int) -> Action | None:
        return self._overrides.get((qname, qtype)) or self._overrides.get((qname, None))

    def respond(self, wire: bytes, transport: Literal["udp", "tcp"]) -> bytes | None:
        """Turn one query datagram/segment into a reply (None: say nothing).

        Public so a test can exercise the answering logic without sockets.
        """
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # garbage: a real server may drop it too; nothing to log
        if not query.question:
            return None
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        with self._lock:
            self._queries.append(Query(qname.to_text(), dns.rdatatype.to_text(qtype), transport))
            action = self._action_for(qname, qtype)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if action == "drop":
                return None
            dnssec = bool(query.ednsflags & dns.flags.DO)
            if dnssec:
                response.ednsflags |= dns.flags.DO  # RFC 3225 §3: echo DO
            if action is not None:
                response.set_rcode(_RCODES[action])
            else:
                self._answer(response, qname, qtype, dnssec or self._anchor is not None)
                if self._anchor is not None:
                    response = self._as_validator(query, response, dnssec)
                asked_ad = query.flags & dns.flags.AD or query.ednsflags & dns.flags.DO
                if asked_ad and (self._secure_all or qname in self._secure):
                    response.flags |= dns.flags.AD
            forced_tc = transport == "udp" and (self._truncate_all or qname in self._truncate)
        if forced_tc:
            return self._truncated(response)
        if transport == "udp":
            limit = max(512, query.payload) if query.edns >= 0 else 512
            try:
                return response.to_wire(max_size=limit)
            except dns.exception.TooBig:
                return self._truncated(response)
        return response.to_wire(max_size=65535)

    def _answer(self, response: dns.message.Message, qname: dns.name.Name, qtype: int,
                dnssec: bool = False) -> None:
        """Fill the answer section from the data; lock held by the caller.

        With `dnssec` (the DO bit), each RRset comes with its RRSIGs and a
        negative answer carries the zone's SOA, the NSEC at the name and
        their RRSIGs in the authority section.
        """
        name = qname
        seen: set[dns.name.Name] = set()
        for _ in range(_CNAME_HOPS):
            node = self._data.get(name) or self._wildcard(name)
            if node is None:
                if not self._exists(name):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                self._deny(response, name, dnssec)
                return
            if qtype == dns.rdatatype.ANY:
                for rrset in node.values():
                    self._add(response.answer, rrset, dnssec)
                return
            if qtype in node:
                self._add(response.answer, node[qtype], dnssec)
                return
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None:
                self._deny(response, name, dnssec)
                return  # NOERROR, empty answer: the name exists with other types
            self._add(response.answer, cname, dnssec)
            seen.add(name)
            name = cname[0].target
            if name in seen:
                return  # CNAME loop: hand back what we have, like BIND does
        # chain longer than _CNAME_HOPS: stop with what we have

    def _wildcard(self, name: dns.name.Name) -> dict[int, dns.rrset.RRset] | None:
        """RFC 4592: a missing name takes `*.<closest encloser>`'s records, renamed."""
        if self._exists(name) or name == dns.name.root:
            return None
        encloser = name.parent()
        while not self._exists(encloser) and encloser != dns.name.root:
            encloser = encloser.parent()
        source = self._data.get(dns.name.Name((b"*", *encloser.labels)))
        if source is None:
            return None
        renamed = {}
        for rdtype, rrset in source.items():
            copy = dns.rrset.RRset(name, rrset.rdclass, rrset.rdtype, rrset.covers)
            copy.update(rrset)
            renamed[rdtype] = copy
        return renamed

    def _add(self, section: list[dns.rrset.RRset], rrset: dns.rrset.RRset,
             dnssec: bool) -> None:
        section.append(rrset)
        sigs = self._sigs.get(rrset.name, {}).get(rrset.rdtype)
        if dnssec and sigs is not None:
            section.append(sigs)

    def _apex(self, name: dns.name.Name) -> dns.name.Name | None:
        """The closest enclosing name that owns an SOA: the zone `name` is in."""
        while True:
            if dns.rdatatype.SOA in self._data.get(name, {}):
                return name
            if name == dns.name.root:
                return None
            name = name.parent()

    def _deny(self, response: dns.message.Message, name: dns.name.Name, dnssec: bool) -> None:
        """The authority section of a negative answer when DNSSEC records were asked for."""
        apex = self._apex(name)
        if not dnssec or apex is None:
            return
        self._add(response.authority, self._data[apex][dns.rdatatype.SOA], True)
        nsec = self._data.get(name, {}).get(dns.rdatatype.NSEC)
        if nsec is not None:
            self._add(response.authority, nsec, True)

    # -- validating resolver ------------------------------------------------

    def _as_validator(self, query: dns.message.Message, response: dns.message.Message,
                      dnssec: bool) -> dns.message.Message:
        """Judge the answer as a validating resolver would; lock held by the caller."""
        response.flags &= ~dns.flags.AA
        response.flags |= dns.flags.RA
        checking_disabled = bool(query.flags & dns.flags.CD)
        security = self._security(response)
        if security == "bogus" and not checking_disabled:
            failed = dns.message.make_response(query)
            failed.flags |= dns.flags.RA
            failed.set_rcode(dns.rcode.SERVFAIL)
            return failed
        if security == "secure" and not checking_disabled and \
                (dnssec or query.flags & dns.flags.AD):
            response.flags |= dns.flags.AD
        if not dnssec:
            for section in (response.answer, response.authority):
                section[:] = [r for r in section if r.rdtype != dns.rdatatype.RRSIG]
        return response

    def _security(self, response: dns.message.Message) -> str:
        """secure, insecure or bogus: the weakest of the RRsets the answer rests on."""
        rrsets = [r for r in response.answer if r.rdtype != dns.rdatatype.RRSIG] or \
            [r for r in response.authority if r.rdtype == dns.rdatatype.SOA]
        verdicts = {self._rrset_security(rrset) for rrset in rrsets} or {"insecure"}
        for verdict in ("bogus", "insecure"):
            if verdict in verdicts:
                return verdict
        return "secure"

    def _rrset_security(self, rrset: dns.rrset.RRset) -> str:
        owner = rrset.name
        # a DS record lives in the parent zone, above the cut it describes
        start = owner.parent() if rrset.rdtype == dns.rdatatype.DS and owner != dns.name.root \
            else owner
        apex = self._apex(start)
        if apex is None:
            return "insecure"
        zone = self._zone_security(apex)
        if zone != "secure":
            return zone
        return "secure" if self._verified(rrset, apex) else "bogus"

    def _verified(self, rrset: dns.rrset.RRset, apex: dns.name.Name) -> bool:
        keys = self._data.get(apex, {}).get(dns.rdatatype.DNSKEY)
        sigs = self._sigs.get(rrset.name, {}).get(rrset.rdtype)
        if keys is None or sigs is None:
            return False
        try:
            dns.dnssec.validate(rrset, sigs, {apex: keys})
        except dns.dnssec.ValidationFailure:
            return False
        return True

    def _zone_security(self, apex: dns.name.Name) -> str:
        """Walk the chain of trust from the anchor down to `apex`."""
        keys = self._data.get(apex, {}).get(dns.rdatatype.DNSKEY)
        if apex == dns.name.root:
            assert self._anchor is not None
            trusted = keys is not None and any(k in self._anchor for k in keys)
            return "secure" if trusted and self._verified(keys, apex) else "bogus"
        parent = self._apex(apex.parent())
        parent_security = self._zone_security(parent) if parent is not None else "insecure"
        if parent_security != "secure":
            return parent_security
        ds = self._data.get(apex, {}).get(dns.rdatatype.DS)
        if ds is None:
            return "insecure"  # no DS: an insecure delegation (NSEC proof not checked)
        assert parent is not None  # a secure parent zone exists
        if keys is None or not self._verified(ds, parent):
            return "bogus"
        matched = any(dns.dnssec.make_ds(apex, key, d.digest_type) == d
                      for key in keys for d in ds)
        return "secure" if matched and self._verified(keys, apex) else "bogus"

    @staticmethod
    def _truncated(response: dns.message.Message) -> bytes:
        """The reply a server sends when the answer does not fit: TC, no records."""
        response.flags |= dns.flags.TC
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        return response.to_wire()

    # -- sockets ------------------------------------------------------------

    def _bind(self) -> None:
        """Bind UDP on an ephemeral port, then TCP on the same number (retry if taken)."""
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((_HOST, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind((_HOST, port))
            except OSError as exc:
                udp.close()
                tcp.close()
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            tcp.listen(16)
            self._udp, self._tcp, self.port = udp, tcp, port
            return
        raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")

    def start(self) -> DnsServer:
        """Bind and start serving in a daemon thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._bind()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name=f"dns:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every socket and join every thread (idempotent)."""
        if self._thread is None:
            return
        self._stopping.set()
        assert self._wake_w is not None
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=10)
        with self._lock:
            conns = list(self._conns)
            threads = list(self._conn_threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(timeout=10)
        for sock in (self._udp, self._tcp, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._udp = self._tcp = self._wake_r = self._wake_w = None
        self._thread = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._udp is not None and self._tcp is not None and self._wake_r is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._udp, selectors.EVENT_READ, "udp")
            sel.register(self._tcp, selectors.EVENT_READ, "tcp")
            sel.register(self._wake_r, selectors.EVENT_READ, "wake")
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.data == "wake":
                        return
                    if key.data == "udp":
                        self._serve_udp()
                    else:
                        self._accept_tcp()

    def _serve_udp(self) -> None:
        assert self._udp is not None
        try:
            wire, peer = self._udp.recvfrom(65535)
        except OSError:
            return
        reply = self.respond(wire, "udp")
        if reply is not None:
            with contextlib.suppress(OSError):
                self._udp.sendto(reply, peer)

    def _accept_tcp(self) -> None:
        assert self._tcp is not None
        try:
            conn, _ = self._tcp.accept()
        except OSError:
            return
        conn.settimeout(_TCP_IDLE)
        thread = threading.Thread(target=self._serve_tcp, args=(conn,), daemon=True)
        with self._lock:
            self._conns.add(conn)
            self._conn_threads.add(thread)
        thread.start()

    def _serve_tcp(self, conn: socket.socket) -> None:
        """Serve length-prefixed queries on one connection until the client closes."""
        try:
            while not self._stopping.is_set():
                header = _recv_exact(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                wire = _recv_exact(conn, length)
                if wire is None:
                    return
                reply = self.respond(wire, "tcp")
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return
        finally:
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self._conn_threads.discard(threading.current_thread())


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    """Read exactly n bytes, or None if the peer closed first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


DnsServerFactory = Callable[..., DnsServer]
"""`dns_server(zone, **kwargs) -> DnsServer` (started; stopped at teardown)."""


@pytest.fixture
def dns_server() -> Iterator[DnsServerFactory]:
    """Fixture factory: `srv = dns_server(zone_text_or_records, overrides=..., truncate=...)`.

    Import it into a test module (`from tests.dnsserver import dns_server`)
    and take `dns_server` as an argument; every server it starts is stopped at
    teardown, even when the test fails.
    """
    started: list[DnsServer] = []

    def make(zone: str | Iterable[RecordSpec] = (), **kwargs: object) -> DnsServer:
        server = DnsServer(zone, **kwargs)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()
