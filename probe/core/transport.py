"""How a session gets a connected byte stream: the one place a socket is opened.

The session asks a `Connector` for a connection to (address, port) and
speaks SMTP over whatever comes back. The TCP path (direct, or through a
SOCKS5 proxy) and the TLS mode (none, or implicit TLS from the first byte,
RFC 8314) are the connector's business, so the session never changes for
them. Failures are typed (`ConnectFailed.kind`, and for a proxy a `reason`)
with a plain-English message, and say whether TCP or the TLS handshake failed.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import proxy as socks
from . import tls
from .events import ErrorKind, Stage
from .plan import Plan, is_ip
from .wire import TeeProtocol

ProtocolFactory = Callable[[], TeeProtocol]

_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                          errno.EAFNOSUPPORT})


class ConnectFailed(Exception):
    """No connection. `kind` is the error kind, `message` says why, `stage` is
    "connect" (TCP or the proxy) or "tls" (an implicit-TLS handshake, after
    `tcp_ms` of working TCP); `reason` refines a proxy failure."""

    def __init__(self, kind: ErrorKind, message: str, *, stage: Stage = "connect",
                 reason: str | None = None, tcp_ms: float = 0.0) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.stage: Stage = stage
        self.reason = reason
        self.tcp_ms = tcp_ms


@dataclass(frozen=True)
class Connection:
    """A connected protocol. `local_address` is our end's address when it means
    something to the server (None behind a proxy: the server sees the proxy).
    With implicit TLS, `ssl_object` is the session and `tcp_ms`/`tls_ms` split
    the time between the TCP connect and the handshake."""

    protocol: TeeProtocol
    local_address: str | None
    ssl_object: ssl.SSLObject | None = None
    tcp_ms: float = 0.0
    tls_ms: float = 0.0


class Connector(Protocol):
    """Opens one connection within `timeout` seconds (per phase), or raises ConnectFailed."""

    async def open(self, address: str, port: int, server_name: str,
                   factory: ProtocolFactory, timeout: float) -> Connection: ...


def connector_for(plan: Plan) -> Connector:
    """The transport a plan asks for: direct or via SOCKS5, with or without implicit TLS."""
    return TcpConnector(plan.proxy, plan.implicit_tls)


class TcpConnector:
    """TCP from here or through a SOCKS5 proxy, then optionally TLS at once."""

    def __init__(self, proxy: socks.ProxySpec | None = None, implicit_tls: bool = False) -> None:
        self.proxy = proxy
        self.implicit_tls = implicit_tls

    async def open(self, address: str, port: int, server_name: str,
                   factory: ProtocolFactory, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        sock = await (self._through_proxy(address, port, timeout) if self.proxy
                      else _direct(address, port, timeout))
        tcp_ms = (time.monotonic() - started) * 1000
        local = None if self.proxy else str(sock.getsockname()[0])
        if not self.implicit_tls:
            _, protocol = await loop.create_connection(factory, sock=sock)
            return Connection(protocol, local, tcp_ms=tcp_ms)
        handshake = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    factory, sock=sock, ssl=tls.client_context(),
                    server_hostname="" if is_ip(server_name) else server_name,  # "": no SNI
                    ssl_handshake_timeout=timeout)
        except (TimeoutError, ssl.SSLError, OSError) as exc:
            sock.close()
            raise ConnectFailed("tls", _tls_failure(exc, timeout), stage="tls",
                                tcp_ms=tcp_ms) from None
        return Connection(protocol, local, transport.get_extra_info("ssl_object"), tcp_ms,
                          (time.monotonic() - handshake) * 1000)

    async def _through_proxy(self, address: str, port: int, timeout: float) -> socket.socket:
        assert self.proxy is not None
        try:
            return await socks.connect(self.proxy, address, port, timeout)
        except socks.ProxyFailed as failed:
            raise ConnectFailed("proxy", failed.message, reason=failed.reason) from None


async def _direct(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP socket connected to (address, port): what an MTA opens."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (address, port))
    except BaseException as exc:
        sock.close()
        if isinstance(exc, TimeoutError):
            raise ConnectFailed("timeout", f"no TCP answer within {timeout:g} s "
                                "(filtered port or host down)") from None
        if isinstance(exc, ConnectionRefusedError):
            raise ConnectFailed("refused", f"connection refused on port {port}") from None
        if isinstance(exc, OSError):
            kind: ErrorKind = "unreachable" if exc.errno in _UNREACHABLE else "refused"
            raise ConnectFailed(kind, exc.strerror or str(exc)) from None
        raise
    return sock


def _tls_failure(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"TLS handshake did not finish within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.__class__.__name__
        hint = (" (the server does not speak TLS on this port: try without --implicit-tls)"
                if reason == "WRONG_VERSION_NUMBER" else "")
        return f"TLS handshake failed: {reason}{hint}"
    return f"the connection closed during the TLS handshake ({exc.__class__.__name__})"
