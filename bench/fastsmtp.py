"""A fast, well-behaved SMTP server for load: many sessions per second on loopback.

`tests/smtpserver.py` scripts byte-exact and hostile dialogs with asyncio
streams, one coroutine per connection; that flexibility costs CPU the batch
benchmarks would then measure instead of the client. This server is a bare
`asyncio.Protocol` with every reply prepared once: greeting, EHLO (no
STARTTLS, so TLS never enters the figures), HELO, HELP, MAIL, RCPT, RSET,
NOOP, QUIT. It listens on several loopback addresses with one port number,
like the shared MX hosts of a `LoadZone`.

It stays a decent server under a misbehaving client: a line longer than
1,000 octets (RFC 5321 §4.5.3.1.6) is refused and the connection closed,
and a session that lasts longer than `session_limit` seconds is closed.
DATA is refused (the probe must never send it, and the count shows it did not).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections import Counter
from collections.abc import Sequence

MAX_LINE = 1000  # RFC 5321 §4.5.3.1.6, CRLF included
BACKLOG = 4096

GREETING = b"220 mx.bench.test ESMTP ready\r\n"
REPLIES: dict[bytes, bytes] = {
    b"EHLO": (b"250-mx.bench.test greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
              b"250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
    b"HELO": b"250 mx.bench.test\r\n",
    b"HELP": b"214 2.0.0 https://www.rfc-editor.org/rfc/rfc5321\r\n",
    b"MAIL": b"250 2.1.0 Ok\r\n",
    b"RCPT": b"250 2.1.5 Ok\r\n",
    b"RSET": b"250 2.0.0 Ok\r\n",
    b"NOOP": b"250 2.0.0 Ok\r\n",
    b"QUIT": b"221 2.0.0 Bye\r\n",
}
UNKNOWN = b"502 5.5.2 Command not recognized\r\n"
TOO_LONG = b"500 5.5.2 Line too long\r\n"


class _Session(asyncio.Protocol):
    __slots__ = ("buffer", "counts", "deadline", "limit", "transport")

    def __init__(self, counts: Counter[str], limit: float) -> None:
        self.counts = counts
        self.limit = limit
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counts["sessions"] += 1
        self.deadline = asyncio.get_running_loop().call_later(self.limit, transport.close)
        transport.write(GREETING)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        start = 0
        while self.transport is not None:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            self._command(buffer[start:end])
            start = end + 1
        self.buffer = buffer[start:]
        if len(self.buffer) > MAX_LINE:
            self._refuse_long_line()

    def _command(self, line: bytes) -> None:
        assert self.transport is not None
        if len(line) >= MAX_LINE:
            self._refuse_long_line()
            return
        verb = line[:4].upper()
        reply = REPLIES.get(verb)
        self.counts[verb.decode() if reply is not None or verb == b"DATA" else "other"] += 1
        self.transport.write(reply or UNKNOWN)
        if verb == b"QUIT":
            self._close()

    def _refuse_long_line(self) -> None:
        if self.transport is not None:
            self.counts["too_long"] += 1
            self.transport.write(TOO_LONG)
            self._close()

    def _close(self) -> None:
        """Close after the queued replies are sent; later lines are ignored."""
        assert self.transport is not None
        self.transport.close()
        self.transport = None


class FastSmtp:
    """`async with FastSmtp(addresses) as smtp:` listens on each address, one port."""

    def __init__(self, addresses: Sequence[str], port: int = 0,
                 session_limit: float = 60.0) -> None:
        if not addresses:
            raise ValueError("at least one address to listen on")
        self.addresses = list(addresses)
        self.port = port
        self.session_limit = session_limit
        self.counts: Counter[str] = Counter()
        self._servers: list[asyncio.Server] = []

    async def start(self) -> FastSmtp:
        """Bind every address on one port (a fresh port when one is taken on any address)."""
        for _ in range(50):
            try:
                await self._bind_all(self.port)
                return self
            except OSError as exc:
                await self.aclose()
                if exc.errno != errno.EADDRINUSE or self.port:
                    raise
        raise RuntimeError("no port free on every address")

    async def _bind_all(self, port: int) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> _Session:
            return _Session(self.counts, self.session_limit)

        for address in self.addresses:
            server = await loop.create_server(factory, address, port, backlog=BACKLOG,
                                              reuse_address=True)
            self._servers.append(server)
            port = port or server.sockets[0].getsockname()[1]
        self.port = port

    async def aclose(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def __aenter__(self) -> FastSmtp:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
