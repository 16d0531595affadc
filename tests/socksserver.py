"""A scripted SOCKS5 server on loopback, for the replies a real proxy rarely gives on demand.

pproxy (`tests/socks.py`) is the real proxy; this one exists for failure
paths: every RFC 1928 reply code, a refused authentication method, a failed
RFC 1929 username/password check, a connection dropped or stalled at each
step, and a reply that is not SOCKS5 at all. With `Behaviour.RELAY` it is also
a working proxy that records exactly what the client asked for.

Safety: even when relaying it connects onward only to loopback (127.0.0.0/8,
::1 or the name `localhost`); any other destination gets reply 0x02
"connection not allowed by ruleset", so a test can never reach the network
through it.

Every client request is kept in `requests` (offered methods, credentials,
address type, destination) so tests can assert what went on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import struct
from dataclasses import dataclass, field

from tests.loopback import close_server

__all__ = ["Behaviour", "ReplyCode", "ScriptedSocks", "SocksRequest"]

VERSION = 0x05
NO_AUTH = 0x00
USER_PASS = 0x02
NO_ACCEPTABLE = 0xFF
CONNECT = 0x01
ATYP_IPV4 = 0x01
ATYP_DOMAIN = 0x03
ATYP_IPV6 = 0x04

# How long a relay waits for the onward connection, and a stall lasts at most:
# a deadline on every wait, long past any client timeout a test uses.
_CONNECT_TIMEOUT = 10.0
_STALL_LIMIT = 120.0
_RELAY_CHUNK = 65536


class ReplyCode(enum.IntEnum):
    """RFC 1928 section 6 reply codes."""

    SUCCEEDED = 0x00
    GENERAL_FAILURE = 0x01
    NOT_ALLOWED = 0x02
    NETWORK_UNREACHABLE = 0x03
    HOST_UNREACHABLE = 0x04
    CONNECTION_REFUSED = 0x05
    TTL_EXPIRED = 0x06
    COMMAND_NOT_SUPPORTED = 0x07
    ADDRESS_TYPE_NOT_SUPPORTED = 0x08


class Behaviour(enum.Enum):
    """What the server does with a connection."""

    RELAY = "relay"  # a working proxy (loopback destinations only)
    REJECT_METHODS = "reject-methods"  # 0x05 0xFF: none of the offered methods is acceptable
    AUTH_FAILED = "auth-failed"  # demand username/password, then answer failure (0x01 0x01)
    REPLY = "reply"  # answer the CONNECT request with `reply_code` (a failure code)
    DROP_AT_GREETING = "drop-at-greeting"  # close after reading the method offer
    DROP_AT_REQUEST = "drop-at-request"  # close after reading the CONNECT request
    STALL_AT_GREETING = "stall-at-greeting"  # read the method offer, then never answer
    STALL_AT_REQUEST = "stall-at-request"  # read the CONNECT request, then never answer
    NOT_SOCKS5 = "not-socks5"  # answer the method offer as if it were an SMTP server


@dataclass
class SocksRequest:
    """What one client sent: offered methods, credentials, and where it wanted to go."""

    methods: bytes = b""
    username: str | None = None
    password: str | None = None
    command: int | None = None
    address_type: int | None = None
    host: str | None = None
    port: int | None = None


class _Closed(Exception):
    """The client went away mid-handshake."""


@dataclass
class ScriptedSocks:
    """An asyncio SOCKS5 server on 127.0.0.1 that behaves as told.

    `credentials` (username, password) makes RELAY and REPLY require RFC 1929
    authentication with exactly those; without it they accept "no
    authentication".
    """

    behaviour: Behaviour = Behaviour.RELAY
    reply_code: ReplyCode = ReplyCode.GENERAL_FAILURE
    credentials: tuple[str, str] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[SocksRequest] = field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)

    async def __aenter__(self) -> ScriptedSocks:
        self.server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await close_server(self.server, self.tasks)

    @property
    def url(self) -> str:
        """`socks5://[user:pass@]127.0.0.1:PORT` for this server."""
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"socks5://{auth}{self.host}:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        request = SocksRequest()
        self.requests.append(request)
        try:
            await self._serve(reader, writer, request)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: SocksRequest
    ) -> None:
        version, count = await reader.readexactly(2)
        if version != VERSION:
            return
        request.methods = await reader.readexactly(count)
        behaviour = self.behaviour
        if behaviour is Behaviour.DROP_AT_GREETING:
            return
        if behaviour is Behaviour.STALL_AT_GREETING:
            await _stall(reader)
            return
        if behaviour is Behaviour.NOT_SOCKS5:
            writer.write(b"220 mx.test ESMTP\r\n")
            await writer.drain()
            return
        wants_auth = behaviour is Behaviour.AUTH_FAILED or self.credentials is not None
        method = USER_PASS if wants_auth else NO_AUTH
        if behaviour is Behaviour.REJECT_METHODS or method not in request.methods:
            writer.write(bytes([VERSION, NO_ACCEPTABLE]))
            await writer.drain()
            return
        writer.write(bytes([VERSION, method]))
        await writer.drain()
        if method == USER_PASS:
            ok = await self._authenticate(reader, request)
            failed = behaviour is Behaviour.AUTH_FAILED or not ok
            writer.write(bytes([0x01, 0x01 if failed else 0x00]))
            await writer.drain()
            if failed:
                return
        await self._read_connect(reader, request)
        if behaviour is Behaviour.DROP_AT_REQUEST:
            return
        if behaviour is Behaviour.STALL_AT_REQUEST:
            await _stall(reader)
            return
        if behaviour is Behaviour.REPLY:
            writer.write(_reply(self.reply_code))
            await writer.drain()
            return
        await self._relay(reader, writer, request)

    async def _authenticate(self, reader: asyncio.StreamReader, request: SocksRequest) -> bool:
        """Read an RFC 1929 username/password request; True if it matches `credentials`."""
        _version, ulen = await reader.readexactly(2)
        request.username = (await reader.readexactly(ulen)).decode("utf-8", "replace")
        (plen,) = await reader.readexactly(1)
        request.password = (await reader.readexactly(plen)).decode("utf-8", "replace")
        return self.credentials == (request.username, request.password)

    async def _read_connect(self, reader: asyncio.StreamReader, request: SocksRequest) -> None:
        """Read the CONNECT request (VER CMD RSV ATYP DST.ADDR DST.PORT) into `request`."""
        _version, command, _rsv, atyp = await reader.readexactly(4)
        request.command = command
        request.address_type = atyp
        if atyp == ATYP_IPV4:
            request.host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == ATYP_IPV6:
            request.host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        elif atyp == ATYP_DOMAIN:
            (length,) = await reader.readexactly(1)
            request.host = (await reader.readexactly(length)).decode("ascii", "replace")
        else:
            raise _Closed
        (request.port,) = struct.unpack("!H", await reader.readexactly(2))

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: SocksRequest
    ) -> None:
        """Connect onward (loopback only) and copy bytes both ways until either side closes."""
        assert request.host is not None and request.port is not None
        if request.command != CONNECT:
            writer.write(_reply(ReplyCode.COMMAND_NOT_SUPPORTED))
            await writer.drain()
            return
        if not _is_loopback(request.host):
            writer.write(_reply(ReplyCode.NOT_ALLOWED))
            await writer.drain()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(request.host, request.port), _CONNECT_TIMEOUT
            )
        except ConnectionRefusedError:
            writer.write(_reply(ReplyCode.CONNECTION_REFUSED))
            await writer.drain()
            return
        except (OSError, TimeoutError):
            writer.write(_reply(ReplyCode.HOST_UNREACHABLE))
            await writer.drain()
            return
        bound = up_writer.get_extra_info("sockname")
        writer.write(_reply(ReplyCode.SUCCEEDED, bound[0], bound[1]))
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


def _reply(code: ReplyCode, host: str = "0.0.0.0", port: int = 0) -> bytes:
    """A CONNECT reply carrying an IPv4 or IPv6 bound address."""
    address = ipaddress.ip_address(host)
    atyp = ATYP_IPV4 if address.version == 4 else ATYP_IPV6
    return bytes([VERSION, code, 0x00, atyp]) + address.packed + struct.pack("!H", port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _stall(reader: asyncio.StreamReader) -> None:
    """Say nothing until the client gives up (or the stall limit passes)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(), _STALL_LIMIT)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end-of-file, then half-close the other side."""
    with contextlib.suppress(ConnectionError):
        while data := await source.read(_RELAY_CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()
