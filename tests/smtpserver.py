"""Scripted SMTP servers on loopback, for byte-exact and hostile dialogs.

`Scripted` runs an asyncio server on 127.0.0.1 with a port of its own and
lets a test write the conversation as a coroutine over (reader, writer).
`dialog()` builds the common case: a greeting, a reply per command verb,
optional STARTTLS with a real certificate. With `tls=`, the listener itself
speaks TLS from the first byte (implicit TLS, the port-465 style of RFC 8314),
and the script runs once the handshake is done. Every byte a client sends is kept
in `received` so tests can assert what went on the wire (never DATA; QUIT
sent; nothing at all for bad input).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from tests.loopback import close_server

# Deadline for a client's TLS handshake on an implicit-TLS listener (asyncio
# waits 60 s by default): long enough for any loopback client, short enough
# that a client which never sends a ClientHello is not kept past a test.
_HANDSHAKE = 10.0

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Scripted"], Awaitable[None]]


@dataclass
class Scripted:
    script: Script
    host: str = "127.0.0.1"
    port: int = 0
    tls: ssl.SSLContext | None = None  # implicit TLS: handshake before the script runs
    received: bytearray = field(default_factory=bytearray)
    connections: int = 0  # with `tls`, only connections whose handshake succeeded
    server: asyncio.base_events.Server | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)

    async def __aenter__(self) -> Scripted:
        tls_args = {"ssl": self.tls, "ssl_handshake_timeout": _HANDSHAKE} if self.tls else {}
        self.server = await asyncio.start_server(self._handle, self.host, self.port, **tls_args)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        # Scripts that are finishing get to finish; the rest are stopped.
        await close_server(self.server, self.tasks, grace=2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.script(TeeReader(reader, self.received), writer, self)  # type: ignore[arg-type]
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @property
    def mx(self) -> str:
        return f"{self.host}:{self.port}"

    def commands(self) -> list[str]:
        """The command lines the client sent, decoded (plaintext or after TLS)."""
        return [line.decode("ascii", "replace") for line in bytes(self.received).split(b"\r\n")
                if line]


class TeeReader:
    """A StreamReader that also copies every line it hands out to `sink`."""

    def __init__(self, reader: asyncio.StreamReader, sink: bytearray) -> None:
        self._reader = reader
        self._sink = sink

    async def readline(self) -> bytes:
        line = await self._reader.readline()
        self._sink.extend(line)
        return line

    def __getattr__(self, name: str) -> object:
        return getattr(self._reader, name)


Replies = dict[str, bytes]


def dialog(greeting: bytes = b"220 mx.test ESMTP ready\r\n", replies: Replies | None = None,
           tls: ssl.SSLContext | None = None, tls_replies: Replies | None = None,
           starttls_reply: bytes = b"220 2.0.0 go ahead\r\n") -> Script:
    """A well-behaved server scripted by verb; missing verbs get `250 ok`.

    `replies` maps a verb (EHLO, HELO, HELP, MAIL, RCPT, ...) to its raw reply,
    or `RCPT:<addr>` to answer one recipient specially. With `tls`, STARTTLS
    is honoured; `tls_replies` then override replies after the handshake.
    """
    base: Replies = {
        "EHLO": b"250-mx.test greets you\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
        "HELP": b"214 2.0.0 see https://www.rfc-editor.org/rfc/rfc5321\r\n",
        "QUIT": b"221 2.0.0 bye\r\n",
    }
    if tls is not None:
        base["EHLO"] = b"250-mx.test greets you\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
    base.update(replies or {})

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     server: Scripted) -> None:
        table = dict(base)
        writer.write(greeting)
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            text = line.decode("ascii", "replace").strip()
            verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb == "STARTTLS" and tls is not None:
                writer.write(starttls_reply)
                await writer.drain()
                if not starttls_reply.startswith(b"220"):
                    continue
                await writer.start_tls(tls)
                table = dict(base)
                table["EHLO"] = b"250-mx.test greets you over TLS\r\n250 8BITMIME\r\n"
                table.update(tls_replies or {})
                continue
            reply = None
            if verb == "RCPT":
                address = text.partition("<")[2].partition(">")[0]
                reply = table.get(f"RCPT:{address}")
            if reply is None:
                reply = table.get(verb, b"502 5.5.2 command not implemented\r\n"
                                  if verb in ("DATA", "VRFY", "EXPN") else b"250 2.0.0 ok\r\n")
            writer.write(reply)
            await writer.drain()
            if verb == "QUIT":
                return

    return script


async def same_port_servers(stack: contextlib.AsyncExitStack,
                            scripts: Mapping[str, Script]) -> int:
    """One scripted server per loopback address (127.0.0.x), all on one port, entered
    into `stack`; returns the port. A probe's --port applies to every MX host, so
    several MX hosts in one test must share it."""
    for _ in range(20):
        try:
            port = 0
            for address, script in scripts.items():
                server = await stack.enter_async_context(Scripted(script, host=address,
                                                                  port=port))
                port = server.port
            return port
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            await stack.aclose()
    raise RuntimeError("no port free on every loopback address")
